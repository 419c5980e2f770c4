/** Small pieces of markup the screens share: an error in place, a busy note, a success note. */
import { html, nothing } from 'lit';
import { describeError } from '../../../remoteclient/errors.ts';

/** What to show a person for a failure: the node's refusal, a refused body, a local error. */
export function errorMessage(e: unknown): string {
  return describeError(e).message;
}

export const errorBox = (message: string | undefined) => (message ? html`<div class="error" role="alert">${message}</div>` : nothing);

export const busyNote = (message: string | undefined) => (message ? html`<div class="busy" role="status" aria-live="polite">${message}</div>` : nothing);

export const okBox = (content: unknown) => (content ? html`<div class="ok" role="status">${content}</div>` : nothing);

/** Runs `fn` while `setBusy` shows a note; its error goes to `setError` (in place, never the console). */
export async function guarded<T>(
  setBusy: (note: string | undefined) => void,
  setError: (message: string | undefined) => void,
  note: string,
  fn: () => Promise<T>,
): Promise<T | undefined> {
  setError(undefined);
  setBusy(note);
  try {
    return await fn();
  } catch (e) {
    setError(errorMessage(e));
    return undefined;
  } finally {
    setBusy(undefined);
  }
}
