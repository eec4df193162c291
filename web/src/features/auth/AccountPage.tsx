import { useState, type FormEvent } from 'react';

import { ApiError, messageOf } from '../../api/errors';
import { Field } from '../../components/Field';
import { session } from '../../lib/session';
import { useMe, useUpdateMe } from './api';

/** Per-field reasons of a 422, or one sentence for the whole form. */
function formErrors(err: unknown): Record<string, string> {
  return err instanceof ApiError && Object.keys(err.fields).length ? err.fields : { form: messageOf(err) };
}

export function AccountPage() {
  const me = useMe();
  const user = me.data;
  const update = useUpdateMe(user?.username ?? '');
  const [profileErrors, setProfileErrors] = useState<Record<string, string>>({});
  const [profileNote, setProfileNote] = useState<string | null>(null);
  const [passwordErrors, setPasswordErrors] = useState<Record<string, string>>({});
  const [passwordNote, setPasswordNote] = useState<string | null>(null);

  if (me.isPending) return <main className="page">Loading…</main>;
  if (!user) return <main className="page form-error">{messageOf(me.error)}</main>;

  async function saveProfile(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setProfileErrors({});
    setProfileNote(null);
    try {
      await update.mutateAsync({
        full_name: String(form.get('full_name')).trim(),
        email: String(form.get('email')).trim(),
      });
      setProfileNote('Profile saved.');
    } catch (err) {
      setProfileErrors(formErrors(err));
    }
  }

  async function changePassword(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formElement = e.currentTarget;
    const form = new FormData(formElement);
    const password = String(form.get('password'));
    setPasswordErrors({});
    setPasswordNote(null);
    if (password !== String(form.get('confirm'))) {
      setPasswordErrors({ confirm: 'The two passwords differ.' });
      return;
    }
    try {
      await update.mutateAsync({ password });
      // A password change ends every session, this one included: sign in again with the new one.
      await session.login(user!.username, password);
      formElement.reset();
      setPasswordNote('Password changed. Your other sessions were logged out.');
    } catch (err) {
      setPasswordErrors(formErrors(err));
    }
  }

  // Signing out sends every page of the app to the login page (RequireAuth).
  const logout = () => session.logout();

  return (
    <main className="page" aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      <p className="muted">
        Signed in as <strong>{user.username}</strong> · roles: {user.roles.join(', ')}
      </p>

      <form className="card" onSubmit={saveProfile} aria-labelledby="profile-title" noValidate>
        <h2 id="profile-title">Profile</h2>
        {profileErrors.form && (
          <p className="form-error" role="alert">
            {profileErrors.form}
          </p>
        )}
        <Field label="Full name" name="full_name" defaultValue={user.full_name ?? ''} error={profileErrors.full_name} />
        <Field label="Email" name="email" type="email" defaultValue={user.email} error={profileErrors.email} />
        <button className="button primary" type="submit" disabled={update.isPending}>
          Save profile
        </button>
        {profileNote && (
          <p className="form-note" role="status">
            {profileNote}
          </p>
        )}
      </form>

      <form className="card" onSubmit={changePassword} aria-labelledby="password-title" noValidate>
        <h2 id="password-title">Change password</h2>
        {passwordErrors.form && (
          <p className="form-error" role="alert">
            {passwordErrors.form}
          </p>
        )}
        <Field
          label="New password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          error={passwordErrors.password}
        />
        <Field
          label="Repeat the new password"
          name="confirm"
          type="password"
          autoComplete="new-password"
          required
          error={passwordErrors.confirm}
        />
        <button className="button primary" type="submit" disabled={update.isPending}>
          Change password
        </button>
        {passwordNote && (
          <p className="form-note" role="status">
            {passwordNote}
          </p>
        )}
      </form>

      <div className="card">
        <h2>Session</h2>
        <button className="button danger" type="button" onClick={logout}>
          Log out
        </button>
      </div>
    </main>
  );
}
