import { useState, type FormEvent, type KeyboardEvent } from 'react';

import type { McpChoice, ModelList } from '../../api/types.gen';
import { ModelPicker } from './ModelPicker';
import { silentProviders } from './models';
import { ToolChoiceButton, ToolChoicePanel } from './ToolChoice';

interface Props {
  title: string;
  models: ModelList | undefined;
  model: string;
  onModel: (model: string) => void;
  /** For administrators: read every provider's model list again. */
  onRefreshModels?: () => Promise<void>;
  systemPrompt: string;
  onSystemPrompt: (prompt: string) => Promise<void>;
  connection: string;
  /** A stored conversation's choice of MCP servers (a new chat uses them all). */
  tools?: { choice: McpChoice; onChange: (choice: McpChoice) => Promise<void> };
}

/** Title, model picker and the per-conversation system prompt. */
export function ChatHeader({
  title,
  models,
  model,
  onModel,
  onRefreshModels,
  systemPrompt,
  onSystemPrompt,
  connection,
  tools,
}: Props) {
  const [panel, setPanel] = useState<'prompt' | 'tools' | null>(null);
  const editing = panel === 'prompt';
  const [saving, setSaving] = useState(false);

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setSaving(true);
    try {
      await onSystemPrompt(String(new FormData(e.currentTarget).get('system_prompt')).trim());
      setPanel(null);
    } finally {
      setSaving(false);
    }
  }

  function onPanelKey(e: KeyboardEvent<HTMLFormElement>) {
    if (e.key === 'Escape') {
      // Esc closes the panel (and does not also stop a running reply).
      e.preventDefault();
      setPanel(null);
    }
  }

  const list = models?.models ?? [];
  const unavailable = Boolean(model) && models !== undefined && !list.some((m) => m.id === model);
  const silent = silentProviders(models);
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
        <ModelPicker models={models} value={model} onChange={onModel} onRefresh={onRefreshModels} />
        <button
          type="button"
          className="button small"
          aria-expanded={editing}
          onClick={() => setPanel((p) => (p === 'prompt' ? null : 'prompt'))}
        >
          System prompt{systemPrompt ? ' •' : ''}
        </button>
        {tools && (
          <ToolChoiceButton
            choice={tools.choice}
            open={panel === 'tools'}
            onToggle={() => setPanel((p) => (p === 'tools' ? null : 'tools'))}
          />
        )}
      </div>
      {editing && (
        <form className="system-prompt" onSubmit={save} onKeyDown={onPanelKey}>
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
            <button type="button" className="button" onClick={() => setPanel(null)}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={saving}>
              Save
            </button>
          </div>
        </form>
      )}
      {tools && panel === 'tools' && (
        <ToolChoicePanel choice={tools.choice} onChange={tools.onChange} onClose={() => setPanel(null)} />
      )}
      {unavailable && (
        <p className="model-gone" role="status">
          The model “{model}” is no longer available
          {silent.length > 0 ? ` (${silent.map((p) => p.name).join(', ')} cannot be reached right now)` : ''}.
          {models?.default_model && models.default_model !== model && (
            <>
              {' '}
              <button type="button" className="link-button" onClick={() => onModel(models.default_model!)}>
                Use {models.default_model}
              </button>
            </>
          )}
        </p>
      )}
    </header>
  );
}
