import type { Model, ModelList, ProviderStatus } from '../../api/types.gen';

/** One provider's models in the picker, with the provider's state. */
export interface ModelGroup {
  provider: string;
  status?: ProviderStatus;
  models: Model[];
}

/**
 * The models matching `query` (every word, in the id or the provider's name, ignoring case),
 * grouped by provider in the server's order.
 */
export function filterModels(list: ModelList | undefined, query: string): ModelGroup[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const groups = new Map<string, ModelGroup>();
  for (const model of list?.models ?? []) {
    const haystack = `${model.id} ${model.provider}`.toLowerCase();
    if (!words.every((w) => haystack.includes(w))) continue;
    let group = groups.get(model.provider);
    if (!group) {
      group = { provider: model.provider, status: list?.providers.find((p) => p.name === model.provider), models: [] };
      groups.set(model.provider, group);
    }
    group.models.push(model);
  }
  return [...groups.values()];
}

/** Providers that offer nothing right now because they cannot be reached (or have not answered). */
export function silentProviders(list: ModelList | undefined): ProviderStatus[] {
  return (list?.providers ?? []).filter((p) => p.state !== 'ok' && !list?.models.some((m) => m.provider === p.name));
}
