import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';

import { Icon } from '../../components/Icon';
import { loadDraft, saveDraft } from './draft';

interface Props {
  onSend: (content: string) => Promise<boolean>;
  onStop: (() => void) | null;
  disabled?: boolean;
  /** Whose draft this is (a conversation id, or "new"): kept per conversation in the tab. */
  draftKey: string;
}

/** Enter sends, Shift+Enter adds a line; the draft comes back if sending fails. */
export function Composer({ onSend, onStop, disabled, draftKey }: Props) {
  const [draft, setDraft] = useState(() => loadDraft(draftKey));
  const area = useRef<HTMLTextAreaElement>(null);

  // Sent (the draft emptied) or typed: the stored draft follows.
  useEffect(() => saveDraft(draftKey, draft), [draftKey, draft]);

  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [draft]);

  async function submit(e?: FormEvent) {
    e?.preventDefault();
    const content = draft.trim();
    if (!content || disabled) return;
    setDraft('');
    const sent = await onSend(content);
    if (!sent) setDraft((current) => current || content);
    area.current?.focus();
  }

  function onKey(e: KeyboardEvent<HTMLTextAreaElement>) {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void submit();
    }
  }

  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-input" className="visually-hidden">
        Message
      </label>
      <textarea
        id="composer-input"
        ref={area}
        rows={1}
        placeholder="Send a message (Shift+Enter for a new line)"
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={onKey}
        autoFocus
      />
      {onStop && (
        <button
          type="button"
          className="icon-button stop"
          onClick={onStop}
          aria-label="Stop the reply (Esc)"
          title="Stop the reply (Esc)"
        >
          <Icon name="stop" />
        </button>
      )}
      <button
        type="submit"
        className="icon-button send"
        aria-label="Send message"
        title="Send message"
        disabled={!draft.trim() || disabled}
      >
        <Icon name="send" />
      </button>
    </form>
  );
}
