import { useState } from 'react';

import { Field } from '../../components/Field';

export type PasswordMode = 'generate' | 'type';

interface ChoiceProps {
  mode: PasswordMode;
  onMode: (mode: PasswordMode) => void;
  /** The form field's name, as the server names it in its errors. */
  name: string;
  error?: string;
}

/** How an administrator sets someone's password: generated (and shown once), or typed. */
export function PasswordChoice({ mode, onMode, name, error }: ChoiceProps) {
  return (
    <fieldset className="choice">
      <legend>Their password</legend>
      <label>
        <input type="radio" name={`${name}-mode`} checked={mode === 'generate'} onChange={() => onMode('generate')} />
        Generate one (shown once, to copy)
      </label>
      <label>
        <input type="radio" name={`${name}-mode`} checked={mode === 'type'} onChange={() => onMode('type')} />
        Type one
      </label>
      {mode === 'type' ? (
        <Field
          label="Password for the user"
          name={name}
          type="password"
          autoComplete="new-password"
          required
          error={error}
          hint="At least 8 characters."
        />
      ) : (
        error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )
      )}
    </fieldset>
  );
}

/** A generated password, shown once: the administrator copies it and hands it over. */
export function OneTimePassword({ value }: { value: string }) {
  const [note, setNote] = useState('');
  async function copy() {
    try {
      await navigator.clipboard.writeText(value);
      setNote('Copied to the clipboard.');
    } catch {
      setNote('Copying is not allowed here: select the password and copy it yourself.');
    }
  }
  return (
    <div className="one-time-secret">
      <label htmlFor="generated-password">Their password — shown only now</label>
      <div className="secret-row">
        <input id="generated-password" readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" className="button small" onClick={() => void copy()}>
          Copy
        </button>
      </div>
      <p className="form-note" role="status">
        {note}
      </p>
    </div>
  );
}
