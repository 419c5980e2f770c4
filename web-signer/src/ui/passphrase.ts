/** The passphrase of a new wallet: typed twice, at least MIN_PASSPHRASE characters. */
import { html } from 'lit';
import { KeystoreError } from '../../../remoteclient/errors.ts';

export const MIN_PASSPHRASE = 8;

export const newPassphraseFields = (disabled: boolean) => html`
  <label>New passphrase <span class="hint">at least ${MIN_PASSPHRASE} characters; it seals the keys in this browser and cannot be recovered</span>
    <input name="passphrase" type="password" autocomplete="new-password" minlength=${MIN_PASSPHRASE} required ?disabled=${disabled} data-test="new-passphrase">
  </label>
  <label>Repeat the passphrase
    <input name="repeat" type="password" autocomplete="new-password" required ?disabled=${disabled} data-test="repeat-passphrase">
  </label>
`;

/** The new passphrase from a form holding newPassphraseFields, checked. */
export function newPassphraseOf(form: HTMLFormElement): string {
  const value = (name: string) => (form.elements.namedItem(name) as HTMLInputElement).value;
  const passphrase = value('passphrase');
  if (passphrase.length < MIN_PASSPHRASE) throw new KeystoreError(`the passphrase must have at least ${MIN_PASSPHRASE} characters`);
  if (value('repeat') !== passphrase) throw new KeystoreError('the two passphrases differ');
  return passphrase;
}
