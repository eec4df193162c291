import { useState, type FormEvent, type KeyboardEvent } from 'react';

import { messageOf } from '../../api/errors';
import type { McpChoice } from '../../api/types.gen';
import { useMcpServers } from '../tools/api';

function useActiveServers() {
  return (useMcpServers().data ?? []).filter((s) => s.is_active);
}

/** "Tools: all / 2 / off", shown only to users who have active MCP servers. */
export function ToolChoiceButton({
  choice,
  open,
  onToggle,
}: {
  choice: McpChoice;
  open: boolean;
  onToggle: () => void;
}) {
  if (useActiveServers().length === 0) return null;
  const label = choice.mode === 'all' ? 'all' : choice.servers.length === 0 ? 'off' : String(choice.servers.length);
  return (
    <button type="button" className="button small" aria-expanded={open} onClick={onToggle}>
      Tools: {label}
    </button>
  );
}

/**
 * Which MCP servers this conversation's replies may use: every active one (the default) or
 * those ticked.
 */
export function ToolChoicePanel({
  choice,
  onChange,
  onClose,
}: {
  choice: McpChoice;
  onChange: (c: McpChoice) => Promise<void>;
  onClose: () => void;
}) {
  const active = useActiveServers();
  const [all, setAll] = useState(choice.mode === 'all');
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const next: McpChoice = all
      ? { mode: 'all' }
      : { mode: 'only', servers: form.getAll('server').map((v) => String(v)) };
    setSaving(true);
    setError(null);
    try {
      await onChange(next);
      onClose();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setSaving(false);
    }
  }

  function onPanelKey(e: KeyboardEvent<HTMLFormElement>) {
    if (e.key === 'Escape') {
      // Esc closes the panel (and does not also stop a running reply).
      e.preventDefault();
      onClose();
    }
  }

  const chosen = (id: string) => choice.mode === 'all' || choice.servers.includes(id);
  return (
    <form className="system-prompt tool-choice" onSubmit={save} onKeyDown={onPanelKey} aria-label="Tools">
      <label className="switch">
        <input type="checkbox" checked={all} onChange={(e) => setAll(e.currentTarget.checked)} autoFocus />
        Every active MCP server
      </label>
      <fieldset disabled={all}>
        <legend>Only these</legend>
        {active.map((server) => (
          <label key={server.id} className="switch">
            <input type="checkbox" name="server" value={server.id} defaultChecked={chosen(server.id)} />
            {server.name}
          </label>
        ))}
      </fieldset>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="edit-actions">
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
        <button type="submit" className="button primary" disabled={saving}>
          Save
        </button>
      </div>
    </form>
  );
}
