import type { Multiaddr } from '@multiformats/multiaddr'
import type { Config, RateLimits } from '../config/config-types.ts'
import { limitSettings } from '../config/limits-config.ts'
import { MAX_BLOCK_BYTES } from '../log/record-codec.ts'
import { isLanAddress } from '../node/lan-address.ts'
import { TrafficLimits } from '../node/traffic-limits.ts'

export interface DaemonLimitsOptions {
  config: Config
  /** `ferry start --max-upload/--max-download`: over the config's daemon-wide limits, on every reload too */
  overrides?: RateLimits
  /** remote addresses of the open connections to `peer` */
  remoteAddrs: (peer: string) => Multiaddr[]
}

/** The daemon's rate limits on block traffic (src/node/traffic-limits.ts) from its config. */
export function daemonTrafficLimits (o: DaemonLimitsOptions): TrafficLimits {
  return new TrafficLimits({
    settings: limitSettings(o.config, o.overrides),
    // a peer is on the LAN when every connection to it is
    isLan: peer => {
      const addrs = o.remoteAddrs(peer)
      return addrs.length > 0 && addrs.every(isLanAddress)
    },
    minBurstBytes: MAX_BLOCK_BYTES
  })
}
