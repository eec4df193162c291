import { useEffect, useRef, type ReactNode } from 'react';

interface Props {
  open: boolean;
  /** The id of the element that names the dialog (its heading). */
  labelledBy: string;
  onClose: () => void;
  children: ReactNode;
}

/**
 * A modal on the native <dialog>: focus is trapped and Esc closes it. Its content exists only
 * while it is open, so each opening starts from a blank form.
 */
export function Modal({ open, labelledBy, onClose, children }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={labelledBy} onClose={onClose}>
      {open && children}
    </dialog>
  );
}
