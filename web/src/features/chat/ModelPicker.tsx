import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from 'react';

import type { ModelList, ProviderStatus } from '../../api/types.gen';
import { Icon } from '../../components/Icon';
import { filterModels, type ModelGroup } from './models';

interface Props {
  models: ModelList | undefined;
  value: string;
  onChange: (model: string) => void;
  /** Administrators can have every provider's list read again. */
  onRefresh?: () => Promise<void>;
}

function unreachableNote(p: ProviderStatus): string {
  if (p.state === 'pending') return 'not answered yet';
  if (p.state !== 'unreachable') return '';
  const since = p.unreachable_since ? new Date(p.unreachable_since) : null;
  return since
    ? `unreachable since ${since.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`
    : 'unreachable';
}

/**
 * The model picker: a button naming the model in full, opening a searchable list grouped by
 * provider (an ARIA combobox with a listbox). Stays usable with hundreds of models: typing
 * filters, arrows move, Enter picks, Esc closes.
 */
export function ModelPicker({ models, value, onChange, onRefresh }: Props) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [refreshing, setRefreshing] = useState(false);
  const button = useRef<HTMLButtonElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const listId = useId();
  const list = models?.models ?? [];
  const groups: ModelGroup[] = useMemo(() => filterModels(models, query), [models, query]);
  const options = useMemo(() => groups.flatMap((g) => g.models), [groups]);
  /** Where each group's options start in `options` (the index the keyboard moves through). */
  const starts = useMemo(
    () => groups.map((_, g) => groups.slice(0, g).reduce((n, x) => n + x.models.length, 0)),
    [groups],
  );
  const current = list.find((m) => m.id === value);
  const unavailable = Boolean(value) && models !== undefined && !current;

  // Close on a click outside.
  useEffect(() => {
    if (!open) return;
    const onDown = (e: PointerEvent) => {
      if (!panel.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', onDown);
    return () => document.removeEventListener('pointerdown', onDown);
  }, [open]);

  // Keep the active option in view.
  useEffect(() => {
    if (!open) return;
    panel.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [active, open]);

  function show() {
    setQuery('');
    const selected = options.findIndex((m) => m.id === value);
    setActive(Math.max(0, selected));
    setOpen(true);
  }

  function close() {
    setOpen(false);
    button.current?.focus();
  }

  function pick(id: string) {
    if (id !== value) onChange(id);
    close();
  }

  function onKey(e: KeyboardEvent<HTMLInputElement>) {
    const last = options.length - 1;
    const moves: Record<string, number> = {
      ArrowDown: Math.min(active + 1, last),
      ArrowUp: Math.max(active - 1, 0),
      PageDown: Math.min(active + 10, last),
      PageUp: Math.max(active - 10, 0),
      Home: 0,
      End: last,
    };
    if (e.key in moves) {
      e.preventDefault();
      setActive(Math.max(0, moves[e.key]!));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const option = options[active];
      if (option) pick(option.id);
    } else if (e.key === 'Tab') {
      setOpen(false);
    }
  }

  async function refresh() {
    if (!onRefresh) return;
    setRefreshing(true);
    try {
      await onRefresh();
    } finally {
      setRefreshing(false);
      search.current?.focus();
    }
  }

  const label = list.length === 0 && !value ? 'No model configured' : value || 'Choose a model';
  return (
    <div className="model-picker">
      <button
        ref={button}
        type="button"
        className="model-button"
        aria-haspopup="listbox"
        aria-expanded={open}
        title={current ? `${current.id} · ${current.provider}` : label}
        disabled={list.length === 0 && !value}
        onClick={() => (open ? setOpen(false) : show())}
      >
        {/* The name is the visible text (WCAG 2.5.3, label in name), read as "Model: id provider". */}
        <span className="visually-hidden">Model: </span>
        <span className="model-name">{label}</span>{' '}
        {current && <span className="model-provider">{current.provider}</span>}
        {unavailable && <span className="model-provider warn">unavailable</span>}
        <Icon name="down" size={14} />
      </button>
      {open && (
        <div
          className="model-panel"
          ref={panel}
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              // Esc closes the list from anywhere in it (and does not also stop a running reply).
              e.preventDefault();
              close();
            }
          }}
        >
          <label className="visually-hidden" htmlFor={`${listId}-search`}>
            Search models
          </label>
          <input
            ref={search}
            id={`${listId}-search`}
            type="search"
            role="combobox"
            aria-expanded="true"
            aria-controls={listId}
            aria-activedescendant={options[active] ? `${listId}-${active}` : undefined}
            aria-autocomplete="list"
            placeholder={`Search ${list.length} models`}
            value={query}
            autoFocus
            autoComplete="off"
            onChange={(e) => {
              setQuery(e.target.value);
              setActive(0);
            }}
            onKeyDown={onKey}
          />
          <div className="model-options" role="listbox" id={listId} aria-label="Models">
            {groups.map((group, g) => (
              <div role="group" aria-labelledby={`${listId}-g-${group.provider}`} key={group.provider}>
                <div className="model-group" id={`${listId}-g-${group.provider}`}>
                  {group.provider}
                  {group.status && unreachableNote(group.status) && (
                    <span className="model-group-note" title={group.status.error ?? undefined}>
                      {' '}
                      — {unreachableNote(group.status)}
                    </span>
                  )}
                </div>
                {group.models.map((m, k) => {
                  const i = starts[g]! + k;
                  return (
                    <div
                      key={m.id}
                      id={`${listId}-${i}`}
                      data-index={i}
                      role="option"
                      aria-selected={m.id === value}
                      className={`model-option${i === active ? ' active' : ''}`}
                      onPointerMove={() => i !== active && setActive(i)}
                      onClick={() => pick(m.id)}
                    >
                      <span className="model-option-name">{m.id}</span>
                      {m.id === value && <Icon name="check" size={14} />}
                    </div>
                  );
                })}
              </div>
            ))}
            {options.length === 0 && <p className="muted model-empty">No model matches “{query}”.</p>}
          </div>
          {onRefresh && (
            <button type="button" className="link-button model-refresh" onClick={refresh} disabled={refreshing}>
              <Icon name="retry" size={14} /> {refreshing ? 'Reading the model lists…' : 'Refresh model lists'}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
