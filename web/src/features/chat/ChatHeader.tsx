import { useState, type FormEvent } from 'react';

import type { ModelList } from '../../api/types.gen';

interface Props {
  title: string;
  models: ModelList | undefined;
  model: string;
  onModel: (model: string) => void;
  systemPrompt: string;
  onSystemPrompt: (prompt: string) => Promise<void>;
  connection: string;
}

/** Title, model picker and the per-conversation system prompt. */
export function ChatHeader({ title, models, model, onModel, systemPrompt, onSystemPrompt, connection }: Props) {
  const [editing, setEditing] = useState(false);
  const [saving, setSaving] = useState(false);

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setSaving(true);
    try {
      await onSystemPrompt(String(new FormData(e.currentTarget).get('system_prompt')).trim());
      setEditing(false);
    } finally {
      setSaving(false);
    }
  }

  const list = models?.models ?? [];
  return (
    <header className="chat-header">
      <h1 className="chat-title" title={title}>
        {title}
      </h1>
      <div className="chat-controls">
        {connection !== 'open' && (
          <span className="connection" role="status">
            {connection === 'closed' ? 'Offline' : 'Reconnecting…'}
          </span>
        )}
        <label className="visually-hidden" htmlFor="model-picker">
          Model
        </label>
        <select id="model-picker" value={model} onChange={(e) => onModel(e.target.value)} disabled={list.length === 0}>
          {list.length === 0 && <option value="">No model configured</option>}
          {model && !list.some((m) => m.id === model) && <option value={model}>{model} (unavailable)</option>}
          {list.map((m) => (
            <option key={m.id} value={m.id}>
              {m.id} · {m.provider}
            </option>
          ))}
        </select>
        <button type="button" className="button small" aria-expanded={editing} onClick={() => setEditing((v) => !v)}>
          System prompt{systemPrompt ? ' •' : ''}
        </button>
      </div>
      {editing && (
        <form className="system-prompt" onSubmit={save}>
          <label htmlFor="system-prompt">Instructions the model follows in this conversation</label>
          <textarea
            id="system-prompt"
            name="system_prompt"
            defaultValue={systemPrompt}
            rows={4}
            maxLength={8000}
            autoFocus
          />
          <div className="edit-actions">
            <button type="button" className="button" onClick={() => setEditing(false)}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={saving}>
              Save
            </button>
          </div>
        </form>
      )}
    </header>
  );
}
