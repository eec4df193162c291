import { useState, type FormEvent } from 'react';

import { Field } from '../../components/Field';
import { Modal } from '../../components/Modal';
import { formErrors, type FormErrors } from '../auth/formErrors';
import { ROLES, useCreateUser } from './api';
import { generatePassword } from './password';
import { OneTimePassword, PasswordChoice, type PasswordMode } from './PasswordChoice';

const TITLE = 'create-user-title';

/** An administrator creates an account, with a typed or a generated password. */
export function CreateUserDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Modal open={open} labelledBy={TITLE} onClose={onClose}>
      <CreateUserForm onClose={onClose} />
    </Modal>
  );
}

function CreateUserForm({ onClose }: { onClose: () => void }) {
  const create = useCreateUser();
  const [mode, setMode] = useState<PasswordMode>('generate');
  const [errors, setErrors] = useState<FormErrors>({});
  const [created, setCreated] = useState<{ username: string; password: string | null } | null>(null);

  if (created) {
    return (
      <>
        <h2 id={TITLE}>User created</h2>
        <p>
          <strong>{created.username}</strong> can log in now.
        </p>
        {created.password && <OneTimePassword value={created.password} />}
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
    const password = mode === 'generate' ? generatePassword() : String(form.get('password'));
    const fullName = String(form.get('full_name')).trim();
    const roles = ROLES.filter((r) => form.get(`role-${r}`) === 'on');
    setErrors({});
    try {
      const answer = await create.mutateAsync({
        username: String(form.get('username')).trim(),
        email: String(form.get('email')).trim(),
        password,
        ...(fullName ? { full_name: fullName } : {}),
        roles: roles.length > 0 ? roles : ['user'],
      });
      setCreated({ username: answer.user.username, password: mode === 'generate' ? password : null });
    } catch (err) {
      setErrors(formErrors(err));
    }
  }

  return (
    <form className="dialog-form" onSubmit={submit} noValidate>
      <h2 id={TITLE}>Create a user</h2>
      {errors.form && (
        <p className="form-error" role="alert">
          {errors.form}
        </p>
      )}
      <Field label="Username" name="username" autoComplete="off" required autoFocus error={errors.username} />
      <Field label="Email" name="email" type="email" autoComplete="off" required error={errors.email} />
      <Field label="Full name" name="full_name" autoComplete="off" error={errors.full_name} />
      <fieldset className="choice inline">
        <legend>Roles</legend>
        {ROLES.map((r) => (
          <label key={r}>
            <input type="checkbox" name={`role-${r}`} defaultChecked={r === 'user'} />
            {r}
          </label>
        ))}
      </fieldset>
      <PasswordChoice mode={mode} onMode={setMode} name="password" error={errors.password} />
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create user'}
        </button>
      </div>
    </form>
  );
}
