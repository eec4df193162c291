import { useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';

import { Field } from '../../components/Field';
import { session } from '../../lib/session';
import { register } from './api';
import { formErrors } from './formErrors';

export function RegisterPage() {
  const [, navigate] = useLocation();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const username = String(form.get('username')).trim();
    const password = String(form.get('password'));
    const fullName = String(form.get('full_name')).trim();
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      await register({
        username,
        email: String(form.get('email')).trim(),
        password,
        ...(fullName ? { full_name: fullName } : {}),
      });
      await session.login(username, password);
      navigate('/', { replace: true });
    } catch (err) {
      const { form, ...fields } = formErrors(err);
      setErrors(fields);
      setFormError(form ?? null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="auth-page">
      <form className="auth-card" onSubmit={submit} aria-labelledby="register-title" noValidate>
        <h1 id="register-title">Create your account</h1>
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}
        <Field label="Username" name="username" autoComplete="username" required autoFocus error={errors.username} />
        <Field label="Email" name="email" type="email" autoComplete="email" required error={errors.email} />
        <Field label="Full name" name="full_name" autoComplete="name" error={errors.full_name} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          required
          error={errors.password}
          hint="At least 8 characters."
        />
        <button className="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Creating account…' : 'Create account'}
        </button>
        <p className="auth-switch">
          Already have an account? <Link to="/login">Log in</Link>
        </p>
      </form>
    </main>
  );
}
