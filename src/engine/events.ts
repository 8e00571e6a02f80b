/**
 * The engine's event stream: what happened to which object, in docker's vocabulary
 * (`create`, `start`, `die`, `destroy`...). The API turns these into docker's event JSON.
 */
import { EventEmitter } from 'node:events';

export interface EngineEvent {
  type: 'container' | 'image' | 'volume' | 'network' | 'daemon';
  action: string;
  id: string;
  attributes: Record<string, string>;
  timeNano: bigint;
}

/** A bounded in-memory log of recent events plus live subscribers. */
export class EventBus {
  readonly #emitter = new EventEmitter();
  readonly #recent: EngineEvent[] = [];
  readonly #keep: number;

  constructor(keep = 1024) {
    this.#keep = keep;
    this.#emitter.setMaxListeners(0);
  }

  publish(type: EngineEvent['type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const now = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const event: EngineEvent = { type, action, id, attributes, timeNano: now };
    this.#recent.push(event);
    if (this.#recent.length > this.#keep) this.#recent.shift();
    this.#emitter.emit('event', event);
  }

  recent(): readonly EngineEvent[] {
    return this.#recent;
  }

  /** Call `listener` for each new event until the returned function is called. */
  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }
}
