/** The screens, addressed by the URL hash (`#/send`): links work, back and forward work. */
export const ROUTES = ['wallet', 'send', 'sql', 'chain'] as const;
export type Route = (typeof ROUTES)[number];

export const ROUTE_TITLES: Record<Route, string> = { wallet: 'Wallet', send: 'Send', sql: 'SQL', chain: 'Chain' };

export function routeOf(hash: string): Route {
  const name = hash.replace(/^#\/?/, '');
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : 'wallet';
}
