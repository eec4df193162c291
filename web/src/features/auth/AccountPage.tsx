import { useState, type FormEvent } from 'react';

import { messageOf } from '../../api/errors';
import { Field } from '../../components/Field';
import { session } from '../../lib/session';
import { useTransientNote } from '../../lib/useTransientNote';
import { useChangeOwnPassword, useMe, useUpdateMe } from './api';
import { formErrors, type FormErrors } from './formErrors';

export function AccountPage() {
  const me = useMe();
  const user = me.data;
  const update = useUpdateMe(user?.username ?? '');
  const changePassword = useChangeOwnPassword();
  const [profileErrors, setProfileErrors] = useState<FormErrors>({});
  const [profileNote, setProfileNote] = useTransientNote();
  const [pwErrors, setPwErrors] = useState<FormErrors>({});
  const [passwordNote, setPasswordNote] = useTransientNote();

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

  async function submitPassword(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formElement = e.currentTarget;
    const form = new FormData(formElement);
    const newPassword = String(form.get('new_password'));
    setPwErrors({});
    setPasswordNote(null);
    if (newPassword !== String(form.get('confirm'))) {
      setPwErrors({ confirm: 'The two new passwords differ.' });
      return;
    }
    try {
      await changePassword.mutateAsync({
        current_password: String(form.get('current_password')),
        new_password: newPassword,
      });
      formElement.reset();
      setPasswordNote('Password changed. Your other sessions were logged out.');
    } catch (err) {
      setPwErrors(formErrors(err));
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

      {/* Editing again makes "Profile saved." untrue: it goes at the first change. */}
      <form
        className="card"
        onSubmit={saveProfile}
        onChange={() => setProfileNote(null)}
        aria-labelledby="profile-title"
        noValidate
      >
        <h2 id="profile-title">Profile</h2>
        {profileErrors.form && (
          <p className="form-error" role="alert">
            {profileErrors.form}
          </p>
        )}
        <Field label="Full name" name="full_name" defaultValue={user.full_name ?? ''} error={profileErrors.full_name} />
        <Field label="Email" name="email" type="email" defaultValue={user.email} error={profileErrors.email} />
        <div className="form-actions">
          <button className="button primary" type="submit" disabled={update.isPending}>
            Save profile
          </button>
          {/* Always present, so screen readers announce what appears in it (politely). */}
          <p className="form-note" role="status">
            {profileNote}
          </p>
        </div>
      </form>

      <form
        className="card"
        onSubmit={submitPassword}
        onChange={() => setPasswordNote(null)}
        aria-labelledby="password-title"
        noValidate
      >
        <h2 id="password-title">Change password</h2>
        {pwErrors.form && (
          <p className="form-error" role="alert">
            {pwErrors.form}
          </p>
        )}
        <Field
          label="Current password"
          name="current_password"
          type="password"
          autoComplete="current-password"
          required
          error={pwErrors.current_password}
        />
        <Field
          label="New password"
          name="new_password"
          type="password"
          autoComplete="new-password"
          required
          error={pwErrors.new_password}
          hint="At least 8 characters."
        />
        <Field
          label="Repeat the new password"
          name="confirm"
          type="password"
          autoComplete="new-password"
          required
          error={pwErrors.confirm}
        />
        <div className="form-actions">
          <button className="button primary" type="submit" disabled={changePassword.isPending}>
            Change password
          </button>
          <p className="form-note" role="status">
            {passwordNote}
          </p>
        </div>
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
