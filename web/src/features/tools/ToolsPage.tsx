import { useState, type FormEvent } from 'react';

import { ApiError, messageOf } from '../../api/errors';
import type { McpServer, McpServerTools } from '../../api/types.gen';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Field } from '../../components/Field';
import { isAdmin, useMe } from '../auth/api';
import {
  useAddMcpServer,
  useDeleteMcpServer,
  useMcpServers,
  useSetAskBefore,
  useSignOut,
  useStartSignIn,
  useTestMcpServer,
  useUpdateMcpServer,
} from './api';
import { ToolAudit } from './ToolAudit';

/**
 * The MCP servers whose tools the model may call: the user's own (add, test, switch on or off,
 * delete) and those an administrator offers them (test only).
 */
export function ToolsPage() {
  const servers = useMcpServers();
  const me = useMe();
  return (
    <main className="page" aria-labelledby="tools-title">
      <h1 id="tools-title">Tools</h1>
      <p className="form-note">
        MCP servers whose tools the model may call while it answers (models that support tools only). Each call shows in
        the reply, with its arguments and result.
      </p>
      {servers.isError ? (
        <p className="form-error" role="alert">
          {messageOf(servers.error)}
        </p>
      ) : servers.data ? (
        <>
          <section className="card" aria-labelledby="servers-title">
            <h2 id="servers-title">MCP servers</h2>
            {servers.data.length === 0 ? (
              <p className="muted">No servers yet. Add one below.</p>
            ) : (
              <ul className="server-list">
                {servers.data.map((server) => (
                  <ServerRow key={server.id} server={server} />
                ))}
              </ul>
            )}
          </section>
          <AddServerForm />
          {isAdmin(me.data) && <ToolAudit />}
        </>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </main>
  );
}

function ServerRow({ server }: { server: McpServer }) {
  const update = useUpdateMcpServer();
  const remove = useDeleteMcpServer();
  const test = useTestMcpServer();
  const askBefore = useSetAskBefore();
  const signIn = useStartSignIn();
  const signOut = useSignOut();
  // Optimistic: a box shows what was asked until the server's answer replaces it.
  const asks = askBefore.isPending ? askBefore.variables.tools : server.ask_before;
  const [confirming, setConfirming] = useState(false);
  const [tools, setTools] = useState<McpServerTools | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function run(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(messageOf(err));
    }
  }

  const shared = server.scope !== 'user';
  return (
    <li className="server" data-server-id={server.id} aria-labelledby={`server-${server.id}`}>
      <div className="server-head">
        <h3 id={`server-${server.id}`}>{server.name}</h3>
        <span className="muted server-url">{server.server_url}</span>
        {shared && <span className="badge">{server.scope === 'role' ? `for ${server.role}` : 'for everyone'}</span>}
        {server.config.identity && (
          <span className="badge" title="Each request carries a short-lived token made for this server alone">
            knows who you are
          </span>
        )}
        {server.config.oauth && (
          <span className="badge" title="Each user signs in to this server with an account of their own">
            {server.signed_in ? 'signed in' : 'needs your sign-in'}
          </span>
        )}
      </div>
      {server.description && <p className="server-description">{server.description}</p>}
      {server.ask_before.length > 0 && (
        <p className="muted server-asks">
          Asks you before running{' '}
          {server.ask_before.map((name, i) => (
            <span key={name}>
              {i > 0 && ', '}
              <code>{name}</code>
            </span>
          ))}
          .
        </p>
      )}
      <div className="server-actions">
        {server.editable ? (
          <label className="switch">
            <input
              type="checkbox"
              checked={server.is_active}
              disabled={update.isPending}
              onChange={(e) =>
                run(() => update.mutateAsync({ id: server.id, patch: { is_active: e.currentTarget.checked } }))
              }
            />
            Enabled
          </label>
        ) : (
          <span className="muted">{server.is_active ? 'Enabled' : 'Switched off'}</span>
        )}
        <button
          type="button"
          className="button"
          disabled={test.isPending}
          onClick={() => run(async () => setTools(await test.mutateAsync(server.id)))}
        >
          {test.isPending ? 'Testing…' : 'Test connection'}
        </button>
        {server.config.oauth &&
          (server.signed_in ? (
            <button
              type="button"
              className="button"
              disabled={signOut.isPending}
              onClick={() => run(() => signOut.mutateAsync(server.id))}
            >
              Disconnect
            </button>
          ) : (
            <button
              type="button"
              className="button primary"
              disabled={signIn.isPending || signIn.isSuccess}
              onClick={() => run(() => signIn.mutateAsync(server.id))}
            >
              {signIn.isPending || signIn.isSuccess ? 'Connecting…' : 'Connect'}
            </button>
          ))}
        {server.editable && !shared && (
          <button type="button" className="button danger" onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {tools && (
        <div className="server-tools" role="status">
          <p>
            Connected{tools.server_name ? ` to ${tools.server_name} ${tools.server_version}` : ''}:{' '}
            {tools.tools.length === 1 ? '1 tool' : `${tools.tools.length} tools`}.
          </p>
          <ul>
            {tools.tools.map((tool) => (
              <li key={tool.name}>
                <code>{tool.name}</code>
                {tool.description && <span className="muted"> — {tool.description}</span>}
                <label className="switch ask-first">
                  <input
                    type="checkbox"
                    aria-label={`Ask before running ${tool.name}`}
                    checked={asks.includes(tool.name)}
                    disabled={askBefore.isPending}
                    onChange={(e) => {
                      const others = asks.filter((name) => name !== tool.name);
                      const next = e.currentTarget.checked ? [...others, tool.name] : others;
                      void run(() => askBefore.mutateAsync({ id: server.id, tools: next }));
                    }}
                  />
                  Ask first
                </label>
              </li>
            ))}
          </ul>
        </div>
      )}
      <ConfirmDialog
        open={confirming}
        title="Delete server?"
        body={`“${server.name}” and its tools will no longer be offered to the model.`}
        confirmLabel="Delete"
        onConfirm={() => {
          setConfirming(false);
          void run(() => remove.mutateAsync(server.id));
        }}
        onCancel={() => setConfirming(false)}
      />
    </li>
  );
}

function AddServerForm() {
  const add = useAddMcpServer();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState<string | null>(null);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formElement = e.currentTarget;
    const form = new FormData(formElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    setErrors({});
    setNote(null);
    const timeout = text('timeout_seconds');
    const identity = form.get('identity') === 'on';
    const oauth = form.get('oauth') === 'on';
    const config = {
      ...(timeout ? { timeout_seconds: Number(timeout) } : {}),
      ...(identity ? { identity: true } : {}),
      ...(oauth ? { oauth: true } : {}),
    };
    try {
      const server = await add.mutateAsync({
        name: text('name'),
        server_url: text('server_url'),
        description: text('description'),
        secret: text('secret') || undefined,
        config: Object.keys(config).length ? config : undefined,
      });
      formElement.reset();
      setNote(`“${server.name}” added.`);
    } catch (err) {
      setErrors(err instanceof ApiError && Object.keys(err.fields).length ? err.fields : { form: messageOf(err) });
    }
  }

  return (
    <form className="card" onSubmit={submit} aria-labelledby="add-server-title" noValidate>
      <h2 id="add-server-title">Add a server</h2>
      {errors.form && (
        <p className="form-error" role="alert">
          {errors.form}
        </p>
      )}
      <Field label="Name" name="name" required maxLength={100} error={errors.name} />
      <Field
        label="Server URL"
        name="server_url"
        required
        inputMode="url"
        placeholder="https://tools.example.com/mcp"
        error={errors.server_url}
        hint="Its Streamable HTTP endpoint. https only, on the public internet (unless an administrator allows the host)."
      />
      <Field label="Description" name="description" maxLength={1000} error={errors.description} />
      <Field
        label="Secret"
        name="secret"
        type="password"
        autoComplete="off"
        error={errors.secret}
        hint="Optional: sent as the Authorization header (e.g. “Bearer …”). Stored encrypted, never shown again."
      />
      <Field
        label="Timeout per call (seconds)"
        name="timeout_seconds"
        type="number"
        min={1}
        max={600}
        placeholder="30"
        error={errors['config.timeout_seconds']}
      />
      <label className="switch">
        <input type="checkbox" name="identity" aria-describedby="identity-hint" />
        Tell the server who I am
      </label>
      <p id="identity-hint" className="field-hint">
        For servers that act on your behalf: each request carries a five-minute token made for this server alone, never
        your own sign-in.
      </p>
      {errors['config.identity'] && (
        <p className="form-error" role="alert">
          {errors['config.identity']}
        </p>
      )}
      <label className="switch">
        <input type="checkbox" name="oauth" aria-describedby="oauth-hint" />
        Each user signs in to it
      </label>
      <p id="oauth-hint" className="field-hint">
        For servers with accounts of their own (OAuth): you connect yours from this page, and its requests carry your
        token for that server alone.
      </p>
      {errors['config.oauth'] && (
        <p className="form-error" role="alert">
          {errors['config.oauth']}
        </p>
      )}
      <button type="submit" className="button primary" disabled={add.isPending}>
        {add.isPending ? 'Adding…' : 'Add server'}
      </button>
      <p className="form-note" role="status">
        {note}
      </p>
    </form>
  );
}
