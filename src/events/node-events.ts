import type { DetailOf, NodeEvent, NodeEventOf, NodeEventType } from './event-catalog.ts'

export type NodeEventListener = (e: NodeEvent) => void

/** What a component gets to report with: it emits, it does not subscribe. */
export interface EventSink {
  emit: (e: NodeEvent) => void
}

/**
 * The one in-process event stream of a daemon or relay: components emit typed events
 * (./event-catalog.ts), subscribers (CLI lines, the public event bus, the progress view, logs,
 * metrics) receive every event in emission order, synchronously. A listener that throws does not
 * stop the others nor the emitter.
 */
export class NodeEvents implements EventSink {
  private readonly listeners = new Set<NodeEventListener>()

  emit (e: NodeEvent): void {
    for (const fn of this.listeners) {
      try { fn(e) } catch { /* a listener's failure is its own business */ }
    }
  }

  /** every event; returns the unsubscribe function */
  subscribe (fn: NodeEventListener): () => void {
    this.listeners.add(fn)
    return () => { this.listeners.delete(fn) }
  }

  /** events of one type, as their detail; returns the unsubscribe function */
  on<T extends NodeEventType>(type: T, fn: (detail: DetailOf<T>, e: NodeEventOf<T>) => void): () => void {
    return this.subscribe(e => {
      if (e.type === type) fn(e.detail as DetailOf<T>, e as NodeEventOf<T>)
    })
  }
}
