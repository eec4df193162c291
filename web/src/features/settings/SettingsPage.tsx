import { useState, type FormEvent } from 'react';

import { ApiError, messageOf } from '../../api/errors';
import type { Model, ModelList, UserSettings } from '../../api/types.gen';
import { useModels } from '../chat/api';
import { useSettings, useUpdateSettings } from './api';

const MAX_PROMPT_CHARS = 16_000;

/** The models by provider, in the server's order, for <optgroup>s. */
function byProvider(models: Model[]): [string, Model[]][] {
  const groups = new Map<string, Model[]>();
  for (const m of models) groups.set(m.provider, [...(groups.get(m.provider) ?? []), m]);
  return [...groups];
}

/** The user's defaults for new conversations: a model and a system prompt. */
export function SettingsPage() {
  const settings = useSettings();
  const models = useModels();
  return (
    <main className="page" aria-labelledby="settings-title">
      <h1 id="settings-title">Settings</h1>
      {settings.isError ? (
        <p className="form-error" role="alert">
          {messageOf(settings.error)}
        </p>
      ) : settings.data && models.data ? (
        <DefaultsForm settings={settings.data} models={models.data} />
      ) : models.isError ? (
        <p className="form-error" role="alert">
          {messageOf(models.error)}
        </p>
      ) : (
        <p className="muted">Loading…</p>
      )}
    </main>
  );
}

function DefaultsForm({ settings, models }: { settings: UserSettings; models: ModelList }) {
  const update = useUpdateSettings();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState<string | null>(null);
  const current = settings.default_model ?? '';
  const listed = models.models.some((m) => m.id === current);

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setErrors({});
    setNote(null);
    try {
      await update.mutateAsync({
        default_model: String(form.get('default_model') ?? ''),
        default_system_prompt: String(form.get('default_system_prompt') ?? '').trim(),
      });
      setNote('Settings saved.');
    } catch (err) {
      setErrors(err instanceof ApiError && Object.keys(err.fields).length ? err.fields : { form: messageOf(err) });
    }
  }

  const modelError = errors.default_model;
  const promptError = errors.default_system_prompt;
  return (
    // Any change makes an earlier "saved" note stale.
    <form className="card" onSubmit={save} onChange={() => setNote(null)} aria-labelledby="defaults-title" noValidate>
      <h2 id="defaults-title">New conversations</h2>
      <p className="form-note">What a new chat starts with. Each conversation can still change both.</p>
      {errors.form && (
        <p className="form-error" role="alert">
          {errors.form}
        </p>
      )}
      <div className="field">
        <label htmlFor="settings-model">Default model</label>
        <select
          id="settings-model"
          name="default_model"
          defaultValue={current}
          aria-invalid={modelError ? true : undefined}
          aria-describedby={modelError ? 'settings-model-error' : undefined}
        >
          <option value="">Server default{models.default_model ? ` (${models.default_model})` : ''}</option>
          {current && !listed && <option value={current}>{current} (no longer offered)</option>}
          {byProvider(models.models).map(([provider, list]) => (
            <optgroup key={provider} label={provider}>
              {list.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.id}
                </option>
              ))}
            </optgroup>
          ))}
        </select>
        {modelError && (
          <p id="settings-model-error" className="field-error" role="alert">
            {modelError}
          </p>
        )}
      </div>
      <div className="field">
        <label htmlFor="settings-prompt">Default system prompt</label>
        <textarea
          id="settings-prompt"
          name="default_system_prompt"
          defaultValue={settings.default_system_prompt ?? ''}
          rows={6}
          maxLength={MAX_PROMPT_CHARS}
          aria-invalid={promptError ? true : undefined}
          aria-describedby={promptError ? 'settings-prompt-error' : 'settings-prompt-hint'}
        />
        {promptError ? (
          <p id="settings-prompt-error" className="field-error" role="alert">
            {promptError}
          </p>
        ) : (
          <p id="settings-prompt-hint" className="field-hint">
            Instructions the model follows in every new conversation. Leave empty for none.
          </p>
        )}
      </div>
      <button className="button primary" type="submit" disabled={update.isPending}>
        Save
      </button>
      <p className="form-note" role="status">
        {note}
      </p>
    </form>
  );
}
