/**
 * Wrapping libp2p components: a service gets its own view of a component (a connection manager,
 * a registrar, a connection) with a few members replaced, the real one left as it is for the
 * others. Used where a libp2p service has no option for what ferry needs.
 */

/** `target` with the members in `replaced` replaced; its other functions bound to it */
export function proxyWith<O extends object> (target: O, replaced: Record<string, unknown>): O {
  return new Proxy(target, {
    get (t, prop) {
      if (typeof prop === 'string' && Object.hasOwn(replaced, prop)) return replaced[prop]
      const v = Reflect.get(t, prop) as unknown
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(t) : v
    }
  })
}

/** a service factory's `components` with some of them replaced (the others read through) */
export function withComponents<C extends object> (components: C, replaced: Record<string, unknown>): C {
  return new Proxy(components, {
    get (t, prop) {
      return typeof prop === 'string' && Object.hasOwn(replaced, prop) ? replaced[prop] : Reflect.get(t, prop)
    }
  })
}
