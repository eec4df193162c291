import { useDeferredValue, useState } from 'react';

import { messageOf } from '../../api/errors';
import type { User } from '../../api/types.gen';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { canSeeUsers, isAdmin, useMe } from '../auth/api';
import { ROLES, USERS_PAGE, useDeleteUser, useSetActive, useSetRoles, useUsers } from './api';
import { CreateUserDialog } from './CreateUserDialog';
import { ResetPasswordDialog } from './ResetPasswordDialog';

/** Users: administrators manage them; managers may only look. */
export function AdminPage() {
  const me = useMe();
  const [q, setQ] = useState('');
  const [offset, setOffset] = useState(0);
  const search = useDeferredValue(q);
  const allowed = canSeeUsers(me.data);
  const users = useUsers(search, offset);
  const setRoles = useSetRoles();
  const setActive = useSetActive();
  const remove = useDeleteUser();
  const [deleting, setDeleting] = useState<User | null>(null);
  const [creating, setCreating] = useState(false);
  const [resetting, setResetting] = useState<User | null>(null);
  const [error, setError] = useState<string | null>(null);

  if (me.isPending) return <main className="page">Loading…</main>;
  if (!allowed) {
    return (
      <main className="page">
        <h1>Users</h1>
        <p className="form-error" role="alert">
          Only administrators and managers can see the list of users.
        </p>
      </main>
    );
  }
  const admin = isAdmin(me.data);
  const run = (p: Promise<unknown>) => {
    setError(null);
    p.catch((e) => setError(messageOf(e)));
  };

  function toggleRole(u: User, role: string, on: boolean) {
    const roles = on ? [...new Set([...u.roles, role])] : u.roles.filter((r) => r !== role);
    run(setRoles.mutateAsync({ username: u.username, roles }));
  }

  // Optimistic: a box shows what was asked until the server's answer replaces it.
  const shown = (u: User): User => {
    let v = u;
    if (setRoles.isPending && setRoles.variables.username === u.username) v = { ...v, roles: setRoles.variables.roles };
    if (setActive.isPending && setActive.variables.username === u.username)
      v = { ...v, is_active: setActive.variables.active };
    return v;
  };

  const total = users.data?.total ?? 0;
  return (
    <main className="page wide-page" aria-labelledby="users-title">
      <div className="page-heading">
        <h1 id="users-title">Users</h1>
        {admin && (
          <button type="button" className="button primary" onClick={() => setCreating(true)}>
            Create user
          </button>
        )}
      </div>
      {!admin && <p className="muted">You are a manager: you can see users but not change them.</p>}
      <div className="search page-search">
        <input
          type="search"
          aria-label="Search users"
          placeholder="Search by username, email or name"
          value={q}
          onChange={(e) => {
            setQ(e.target.value);
            setOffset(0);
          }}
        />
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {users.isError && <p className="form-error">{messageOf(users.error)}</p>}
      <div className="table-wrap">
        <table className="users">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Email</th>
              {ROLES.map((r) => (
                <th scope="col" key={r}>
                  {r}
                </th>
              ))}
              <th scope="col">Active</th>
              {admin && (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {(users.data?.users ?? []).map(shown).map((u) => (
              <tr key={u.id} data-username={u.username}>
                <td>
                  <strong>{u.username}</strong>
                  {u.full_name && <div className="muted">{u.full_name}</div>}
                </td>
                <td>{u.email}</td>
                {ROLES.map((r) => (
                  <td key={r}>
                    <input
                      type="checkbox"
                      aria-label={`${r} role for ${u.username}`}
                      checked={u.roles.includes(r)}
                      disabled={!admin}
                      onChange={(e) => toggleRole(u, r, e.target.checked)}
                    />
                  </td>
                ))}
                <td>
                  <input
                    type="checkbox"
                    aria-label={`${u.username} is active`}
                    checked={u.is_active}
                    disabled={!admin || u.username === me.data?.username}
                    onChange={(e) => run(setActive.mutateAsync({ username: u.username, active: e.target.checked }))}
                  />
                </td>
                {admin && (
                  <td>
                    <div className="row-actions">
                      {/* One's own password is changed on the account page, with the current one. */}
                      <button
                        type="button"
                        className="button small"
                        disabled={u.username === me.data?.username}
                        onClick={() => setResetting(u)}
                      >
                        Reset password
                      </button>
                      <button
                        type="button"
                        className="button small danger"
                        disabled={u.username === me.data?.username}
                        onClick={() => setDeleting(u)}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="pager">
        <span className="muted">
          {total === 0 ? 'No users' : `${offset + 1}–${Math.min(offset + USERS_PAGE, total)} of ${total}`}
        </span>
        <button
          type="button"
          className="button small"
          disabled={offset === 0}
          onClick={() => setOffset(offset - USERS_PAGE)}
        >
          Previous
        </button>
        <button
          type="button"
          className="button small"
          disabled={offset + USERS_PAGE >= total}
          onClick={() => setOffset(offset + USERS_PAGE)}
        >
          Next
        </button>
      </div>
      <ConfirmDialog
        open={deleting !== null}
        title="Delete user?"
        body={`${deleting?.username ?? ''} will be deleted and signed out everywhere. This cannot be undone.`}
        confirmLabel="Delete user"
        onConfirm={() => {
          if (deleting) run(remove.mutateAsync(deleting.username));
          setDeleting(null);
        }}
        onCancel={() => setDeleting(null)}
      />
      <CreateUserDialog open={creating} onClose={() => setCreating(false)} />
      <ResetPasswordDialog user={resetting} onClose={() => setResetting(null)} />
    </main>
  );
}
