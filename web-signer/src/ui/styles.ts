/** Styles every screen shares: cards, forms, buttons, tables, notices; narrow screens first. */
import { css } from 'lit';

export const shared = css`
  :host { display: block; }
  * { box-sizing: border-box; }
  h2 { font-size: 1.35rem; margin: 0 0 0.75rem; }
  h3 { font-size: 1.1rem; margin: 1.25rem 0 0.5rem; }
  h2:focus, h3:focus { outline: none; }
  .card > h3:first-child, .row > h3, .row > h2 { margin-top: 0; margin-bottom: 0.5rem; }
  p { margin: 0.4rem 0; }
  .card {
    background: var(--card); border: 1px solid var(--line); border-radius: 8px;
    padding: 1rem; margin: 0 0 1rem;
  }
  .muted { color: var(--muted); }
  .sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  tr.selected td { background: var(--bg); }
  .mono, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
  .mono, code { overflow-wrap: anywhere; word-break: break-all; }
  pre {
    white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-all; margin: 0.4rem 0;
    background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem; max-height: 24rem; overflow: auto;
  }
  form { display: grid; gap: 0.75rem; }
  details { margin: 0.6rem 0; }
  summary { cursor: pointer; padding: 0.3rem 0; font-weight: 600; color: var(--accent); }
  details[open] > summary { margin-bottom: 0.5rem; }
  label { display: grid; gap: 0.25rem; font-weight: 600; }
  label .hint { font-weight: normal; color: var(--muted); font-size: 0.9em; }
  input, select, textarea {
    font: inherit; color: inherit; background: var(--card); border: 1px solid var(--line); border-radius: 6px;
    padding: 0.5rem 0.6rem; width: 100%; min-width: 0;
  }
  textarea { min-height: 6rem; resize: vertical; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  button, .button {
    font: inherit; cursor: pointer; border-radius: 6px; padding: 0.5rem 0.9rem; border: 1px solid var(--accent);
    background: var(--card); color: var(--accent); font-weight: 600; min-height: 2.5rem;
  }
  button.primary { background: var(--accent); color: var(--accent-fg); }
  button:disabled { opacity: 0.6; cursor: progress; }
  button.link { border: none; background: none; padding: 0.2rem; min-height: 0; text-decoration: underline; }
  :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
  .row { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
  .row.spread { justify-content: space-between; }
  .error, .ok, .busy { border-radius: 6px; padding: 0.6rem 0.75rem; margin: 0.5rem 0; overflow-wrap: anywhere; }
  .error { background: var(--bad-bg); color: var(--bad); border: 1px solid var(--bad); }
  .ok { background: var(--ok-bg); color: var(--ok); border: 1px solid var(--ok); }
  .busy { color: var(--muted); border: 1px dashed var(--line); }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { font-size: 0.85em; color: var(--muted); font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .pending { color: var(--warn); }
  .confirmed { color: var(--ok); }
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 0.9rem; margin: 0.5rem 0; }
  dl.facts dt { color: var(--muted); }
  dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
  @media (max-width: 560px) {
    .card { padding: 0.75rem; }
    dl.facts { grid-template-columns: 1fr; gap: 0.1rem; }
    dl.facts dd { margin-bottom: 0.4rem; }
    table.stack thead { display: none; }
    table.stack tr { display: block; border-bottom: 1px solid var(--line); padding: 0.4rem 0; }
    table.stack td { display: block; border: none; padding: 0.15rem 0; text-align: left; }
    table.stack td::before {
      content: attr(data-label); display: inline-block; width: 6.5rem; vertical-align: top;
      color: var(--muted); font: 0.85em system-ui, sans-serif; word-break: normal;
    }
    table.stack td[data-label='']::before { display: none; }
    table.stack td.num { white-space: normal; }
  }
`;
