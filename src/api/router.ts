/**
 * Maps `METHOD /path/{param}` to handlers. Paths are matched after the version prefix is
 * removed. Names may contain slashes (`/images/127.0.0.1:5000/a/b/json`), so a parameter
 * written `{name*}` matches greedily.
 */
import { InvalidArgumentError } from '../common/index.js';
import type { Handler } from './request.js';

interface Route {
  method: string;
  /** As added: `/containers/{id}/json`. */
  path: string;
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
    this.#routes.push({ method, path, pattern: new RegExp(`^${source}/?$`), names, handler });
    return this;
  }

  /** Every route as added (method and path pattern), for tests that walk the whole API. */
  list(): { method: string; path: string }[] {
    return this.#routes.map(({ method, path }) => ({ method, path }));
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
      route.names.forEach((name, i) => (params[name] = decodePathParam(match[i + 1]!)));
      return { handler: route.handler, params };
    }
    return pathMatched ? { methodNotAllowed: true } : undefined;
  }
}

/** A path parameter's text; bad percent-encoding (`%ZZ`) is the client's error, as docker answers it. */
function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidArgumentError(`invalid escape in path: ${raw}`);
  }
}
