import { useState, type FormEvent } from 'react';

import type { User } from '../../api/types.gen';
import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { formErrors, type FormErrors } from '../auth/formErrors';
import { useResetPassword } from './api';
import { generatePassword } from './password';
import { OneTimePassword, PasswordChoice, type PasswordMode } from './PasswordChoice';

const TITLE = 'reset-password-title';

/**
 * An administrator sets a user's password. The administrator types their *own* password as
 * well: an unattended admin screen must not be enough to take over accounts.
 */
export function ResetPasswordDialog({ user, onClose }: { user: User | null; onClose: () => void }) {
  return (
    <Modal open={user !== null} labelledBy={TITLE} onClose={onClose}>
      {user && <ResetPasswordForm user={user} onClose={onClose} />}
    </Modal>
  );
}

function ResetPasswordForm({ user, onClose }: { user: User; onClose: () => void }) {
  const reset = useResetPassword();
  const [mode, setMode] = useState<PasswordMode>('generate');
  const [errors, setErrors] = useState<FormErrors>({});
  const [done, setDone] = useState<{ password: string | null } | null>(null);

  if (done) {
    return (
      <>
        <h2 id={TITLE}>Password reset</h2>
        <p>
          <strong>{user.username}</strong> was logged out everywhere and logs in with the new password.
        </p>
        {done.password && <OneTimePassword value={done.password} />}
        <div className="dialog-actions">
          <button type="button" className="button primary" onClick={onClose}>
            Done
          </button>
        </div>
      </>
    );
  }

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const password = mode === 'generate' ? generatePassword() : String(form.get('new_password'));
    setErrors({});
    try {
      await reset.mutateAsync({
        username: user.username,
        body: { current_password: String(form.get('current_password')), new_password: password },
      });
      setDone({ password: mode === 'generate' ? password : null });
    } catch (err) {
      setErrors(formErrors(err));
    }
  }

  return (
    <form className="dialog-form" onSubmit={submit} noValidate>
      <h2 id={TITLE}>Reset the password of {user.username}</h2>
      <p className="muted">They will be logged out everywhere.</p>
      {errors.form && (
        <p className="form-error" role="alert">
          {errors.form}
        </p>
      )}
      <PasswordChoice mode={mode} onMode={setMode} name="new_password" error={errors.new_password} />
      <Field
        label="Your password"
        name="current_password"
        type="password"
        autoComplete="current-password"
        required
        autoFocus
        error={errors.current_password}
        hint="Yours, not theirs: it confirms that it is you."
      />
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={reset.isPending}>
          {reset.isPending ? 'Resetting…' : 'Reset password'}
        </button>
      </div>
    </form>
  );
}
