import { useEffect } from 'react';

export const APP_NAME = 'Open ChatBot';

/** The window title for a page: "Account — Open ChatBot"; without a title, the app's name. */
export function pageTitle(title: string | null | undefined): string {
  const t = title?.trim();
  return t ? `${t} — ${APP_NAME}` : APP_NAME;
}

/**
 * Names the page in the window title and tab (WCAG 2.4.2), so a screen reader user, a tab
 * strip and the history all tell pages apart.
 */
export function usePageTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = pageTitle(title);
  }, [title]);
}
