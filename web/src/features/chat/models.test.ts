import { describe, expect, it } from 'vitest';

import type { ModelList } from '../../api/types.gen';
import { filterModels, silentProviders } from './models';

const provider = (name: string, state: 'ok' | 'unreachable' | 'pending' = 'ok') => ({
  name,
  state,
  unreachable_since: state === 'unreachable' ? '2026-12-02T10:00:00.000Z' : null,
  error: state === 'unreachable' ? 'cannot reach the model provider' : null,
  models: 0,
  hidden_models: 0,
  refreshed_at: null,
});

const list: ModelList = {
  models: [
    { id: 'gpt-4.1-mini', provider: 'openai' },
    { id: 'gpt-4o', provider: 'openai' },
    { id: 'o3-mini', provider: 'openai' },
    { id: 'claude-sonnet-4-5', provider: 'anthropic' },
    { id: 'smollm2-135m-instruct', provider: 'local' },
  ],
  default_model: 'gpt-4.1-mini',
  providers: [provider('openai'), provider('anthropic'), provider('ollama', 'unreachable'), provider('local')],
};

describe('model picker filter', () => {
  it('groups by provider in the server order', () => {
    const groups = filterModels(list, '');
    expect(groups.map((g) => g.provider)).toEqual(['openai', 'anthropic', 'local']);
    expect(groups[0]!.models.map((m) => m.id)).toEqual(['gpt-4.1-mini', 'gpt-4o', 'o3-mini']);
    expect(groups[0]!.status?.state).toBe('ok');
  });

  it('matches every word in the id or the provider, ignoring case', () => {
    expect(filterModels(list, 'MINI').flatMap((g) => g.models.map((m) => m.id))).toEqual(['gpt-4.1-mini', 'o3-mini']);
    expect(filterModels(list, 'openai 4o').flatMap((g) => g.models.map((m) => m.id))).toEqual(['gpt-4o']);
    expect(filterModels(list, 'local').map((g) => g.provider)).toEqual(['local']);
    expect(filterModels(list, 'nothing-like-this')).toEqual([]);
    expect(filterModels(undefined, '')).toEqual([]);
  });

  it('names providers that offer nothing because they cannot be reached', () => {
    expect(silentProviders(list).map((p) => p.name)).toEqual(['ollama']);
  });
});
