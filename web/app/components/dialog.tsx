// A modal question: a <dialog> opened with showModal(), so the rest of the page is inert and focus
// stays in it; Tab cycles through its buttons; Escape cancels, as Cancel does; focus returns to
// what opened it. Its text is its accessible name and description.
import { useEffect, useId, useRef, type ReactNode } from "react";

export function ModalDialog({
  title,
  description,
  testId,
  onCancel,
  children,
}: {
  title: string;
  description: ReactNode;
  testId: string;
  /** Escape and the Cancel button the caller puts among `children`. */
  onCancel: () => void;
  /** The buttons, Cancel first; the one to press by default has autoFocus. */
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    return () => {
      if (dialog.open) dialog.close();
      // Back to what opened it (a row's or the page's button), if it is still there.
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      aria-labelledby={`${id}-title`}
      aria-describedby={`${id}-text`}
      data-testid={testId}
      className="max-w-md rounded-lg p-5 shadow-xl backdrop:bg-slate-900/40"
      onCancel={(event) => {
        // Escape: cancel, nothing happens.
        event.preventDefault();
        onCancel();
      }}
      onKeyDown={(event) => {
        // The page behind is inert, but Tab past the last button would reach the browser's own
        // controls: cycle within the dialog instead.
        if (event.key !== "Tab") return;
        const buttons = Array.from(event.currentTarget.querySelectorAll<HTMLElement>("button"));
        const first = buttons[0];
        const last = buttons.at(-1);
        if (!first || !last) return;
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }}
    >
      <h2 id={`${id}-title`} className="text-lg font-semibold">
        {title}
      </h2>
      <p id={`${id}-text`} className="mt-2 text-sm text-slate-700">
        {description}
      </p>
      <div className="mt-4 flex flex-wrap justify-end gap-2">{children}</div>
    </dialog>
  );
}
