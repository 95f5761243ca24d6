// Where the dashboard is served, in a module of its own: `coffer up` routes requests to it before the dashboard's
// code (and the Kubernetes client below it) has loaded, so this must not import the dashboard server.
export const DASHBOARD_PREFIX = '/dashboard';

/** True when the path belongs to the dashboard (`/dashboard` or below). */
export function isDashboardPath(url: string | undefined): boolean {
  const path = (url ?? '').split('?')[0]!;
  return path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`);
}
