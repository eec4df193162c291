import { usePageTitle } from '../lib/pageTitle';

/** Sets the window title for the route it is rendered in (see `usePageTitle`). */
export function PageTitle({ title }: { title: string }) {
  usePageTitle(title);
  return null;
}
