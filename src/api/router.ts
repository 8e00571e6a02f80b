/**
 * Maps `METHOD /path/{param}` to handlers. Paths are matched after the version prefix is
 * removed. Names may contain slashes (`/images/127.0.0.1:5000/a/b/json`), so a parameter
 * written `{name*}` matches greedily.
 */
import type { Handler } from './request.js';

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: Handler;
}

export class Router {
  readonly #routes: Route[] = [];

  add(method: string, path: string, handler: Handler): this {
    const names: string[] = [];
    const source = path.replace(/[.]/g, '\\.').replace(/\{(\w+)(\*?)\}/g, (_m, name: string, greedy: string) => {
      names.push(name);
      return greedy ? '(.+)' : '([^/]+)';
    });
    this.#routes.push({ method, pattern: new RegExp(`^${source}/?$`), names, handler });
    return this;
  }

  /** The handler and parameters for a request, `undefined` when no route matches. A path that matches under another method is reported too. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | { methodNotAllowed: true } | undefined {
    let pathMatched = false;
    for (const route of this.#routes) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) {
        pathMatched = true;
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1]!)));
      return { handler: route.handler, params };
    }
    return pathMatched ? { methodNotAllowed: true } : undefined;
  }
}
