import { execFileSync } from 'node:child_process'

/**
 * A small internet inside network namespaces this test creates (names carry the pid; `cleanup()`
 * removes them all, and with them every interface, route and NAT rule; nothing leaves the machine):
 *
 *   public  (bridge br0, PUBLIC_NET.0/24; the relay runs here at RELAY_IP)
 *     ├── router 1: wan PUBLIC_NET.11, NAT ── bridge lan 10.1.0.1 ── home 1: device 10.1.0.2
 *     ├── router 2: wan PUBLIC_NET.12, NAT ── bridge lan 10.2.0.1 ── home 2: device 10.2.0.2
 *     └── ...
 *
 * The "public" addresses must be ones libp2p does not count as private (`isPrivate()` of
 * @libp2p/utils lists 10/8, 100.64/10, 172.16/12, 192.168/16, the TEST-NETs, 198.18/15 ...): dcutr,
 * identify and AutoNAT ignore private addresses. 11.0.0.0/8 is not on that list; it exists here
 * only inside these namespaces.
 *
 * Each router forwards what its LAN sends out and, inbound, only replies to that (conntrack:
 * `ct state established,related`), as a home router does. Its NAT keeps a device's source port
 * when it can (endpoint-independent mapping: a hole punch works), unless the home is `strict`:
 * then every outgoing flow gets a random port (`masquerade fully-random`): no punch can work,
 * only the relay does. No router answers unsolicited traffic from the internet itself: it is
 * dropped, as home routers do (had it been accepted, the first packet of the other side's punch,
 * arriving before ours left, took our mapping's port in conntrack, and the NAT moved our flow to
 * another port: no UDP punch ever worked).
 * `uplinkMbit` and `downlinkMbit` shape the home's line (`tc tbf` on the router's wan, and on its LAN side). `portForward()` adds a static
 * port forward (what UPnP would ask the router for); `move()` takes a device's namespace out of
 * its home and plugs it into another one (its address goes away, a new one comes).
 */
export const PUBLIC_NET = '11.77.0'
export const RELAY_IP = `${PUBLIC_NET}.1`

export interface HomeOptions {
  /** random NAT ports and no unsolicited inbound at all: only relayed connections work */
  strict?: boolean
  /** the router's uplink rate (tc tbf on its wan), in Mbit/s */
  uplinkMbit?: number
  /** the home's downlink rate (tc tbf on the router's LAN side), in Mbit/s */
  downlinkMbit?: number
}

export interface Home {
  index: number
  /** the namespace the home's first device runs in */
  netns: string
  router: string
  /** the device's private address */
  ip: string
  /** the router's public address: the device's address as the internet sees it */
  publicIp: string
  strict: boolean
}

/** bytes a namespace's interface received and sent */
export interface LinkBytes { rx: number, tx: number }

/** Why the NAT lab cannot run here, or undefined when it can (root, `ip`, `nft`, `tc`, namespaces). */
export function natLabUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces'
  for (const [tool, args, pkg] of [['ip', ['-V'], 'iproute2'], ['nft', ['--version'], 'nftables'], ['tc', ['-V'], 'iproute2']] as const) {
    try { execFileSync(tool, args, { stdio: 'ignore' }) } catch { return `needs \`${tool}\` (${pkg})` }
  }
  const probe = `ferry-natprobe-${process.pid}`
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' })
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' })
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message.split('\n')[0]}`
  }
  return undefined
}

function run (cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], input }).toString()
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? ''
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`)
  }
}

/**
 * a home router: masquerade out of wan, inbound only replies (plus `extra` rules, e.g. a
 * forward); devices on its LAN reach each other (bridged traffic meets this forward chain when
 * the host runs br_netfilter)
 */
function routerRules (opts: { strict: boolean, lan: string, extra?: string }): string {
  return `
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ${opts.extra ?? ''}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan" masquerade${opts.strict ? ' fully-random' : ''}
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    ip saddr ${opts.lan} ip daddr ${opts.lan} accept
    ct status dnat accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state != { established, related } drop
  }
}
`
}

/** the relay's side: bytes between the relay and each router, counted by nftables in the public namespace */
function relayCounterRules (publicIps: string[]): string {
  const counters = publicIps.flatMap((_, i) => [`counter to${i + 1} {}`, `counter from${i + 1} {}`]).join('\n  ')
  const input = publicIps.map((ip, i) => `ip saddr ${ip} counter name from${i + 1}`).join('\n    ')
  const output = publicIps.map((ip, i) => `ip daddr ${ip} counter name to${i + 1}`).join('\n    ')
  return `
table ip relaycount {
  ${counters}
  chain input {
    type filter hook input priority filter; policy accept;
    ${input}
  }
  chain output {
    type filter hook output priority filter; policy accept;
    ${output}
  }
}
`
}

export class NatLab {
  readonly tag = `${process.pid}`
  readonly pub = `ferry-pub-${this.tag}`
  readonly homes: Home[] = []
  private readonly made: string[] = []
  private links = 0

  /** Creates the public net and one router per home (a number: that many plain homes), each with one device namespace behind its NAT. */
  async setup (homes: number | HomeOptions[] = 2): Promise<void> {
    const specs = typeof homes === 'number' ? Array.from({ length: homes }, () => ({})) : homes
    try {
      this.netns(this.pub)
      run('ip', ['-n', this.pub, 'link', 'add', 'br0', 'type', 'bridge'])
      run('ip', ['-n', this.pub, 'addr', 'add', `${RELAY_IP}/24`, 'dev', 'br0'])
      run('ip', ['-n', this.pub, 'link', 'set', 'br0', 'up'])
      specs.forEach((spec, i) => this.addHome(i + 1, spec))
      run('ip', ['netns', 'exec', this.pub, 'nft', '-f', '-'], relayCounterRules(this.homes.map(h => h.publicIp)))
    } catch (err) {
      this.cleanup()
      throw err
    }
  }

  private netns (name: string): void {
    run('ip', ['netns', 'add', name])
    this.made.push(name)
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  }

  private addHome (i: number, spec: HomeOptions): void {
    const router = `ferry-rt${i}-${this.tag}`
    const netns = `ferry-home${i}-${this.tag}`
    const publicIp = `${PUBLIC_NET}.${10 + i}`
    const strict = spec.strict === true
    this.netns(router)
    run('ip', ['link', 'add', 'wan', 'netns', router, 'type', 'veth', 'peer', 'name', `rt${i}`, 'netns', this.pub])
    run('ip', ['-n', this.pub, 'link', 'set', `rt${i}`, 'master', 'br0', 'up'])
    run('ip', ['-n', router, 'addr', 'add', `${publicIp}/24`, 'dev', 'wan'])
    run('ip', ['-n', router, 'link', 'set', 'wan', 'up'])
    run('ip', ['-n', router, 'link', 'add', 'lan', 'type', 'bridge'])
    run('ip', ['-n', router, 'addr', 'add', `10.${i}.0.1/24`, 'dev', 'lan'])
    run('ip', ['-n', router, 'link', 'set', 'lan', 'up'])
    run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    run('ip', ['netns', 'exec', router, 'nft', '-f', '-'], routerRules({ strict, lan: `10.${i}.0.0/24` }))
    for (const [dev, mbit] of [['wan', spec.uplinkMbit], ['lan', spec.downlinkMbit]] as const) {
      if (mbit !== undefined) run('ip', ['netns', 'exec', router, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '64kb', 'latency', '200ms'])
    }
    const home: Home = { index: i, netns, router, ip: `10.${i}.0.2`, publicIp, strict }
    this.homes.push(home)
    this.netns(netns)
    this.plug(netns, home, home.ip)
  }

  /** a veth from `netns` (its eth0, at `ip`) into `home`'s LAN bridge, default route via the router */
  private plug (netns: string, home: Home, ip: string): void {
    const port = `d${++this.links}`
    run('ip', ['link', 'add', port, 'netns', home.router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns])
    run('ip', ['-n', home.router, 'link', 'set', port, 'master', 'lan', 'up'])
    run('ip', ['-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0'])
    run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up'])
    run('ip', ['-n', netns, 'route', 'add', 'default', 'via', `10.${home.index}.0.1`])
  }

  /**
   * Takes the device namespace `netns` out of whatever home it is in (its eth0 and address go,
   * and with them every connection of its processes) and plugs it into `to`'s LAN at 10.<to>.0.<host>.
   * The processes in it keep running. Resolves with its new address.
   */
  move (netns: string, to: Home, host = 3): string {
    run('ip', ['-n', netns, 'link', 'del', 'eth0'])
    const ip = `10.${to.index}.0.${host}`
    this.plug(netns, to, ip)
    return ip
  }

  /** A static port forward on `home`'s router: PUBLIC:port -> device:port (TCP). */
  portForward (home: Home, port: number): void {
    run('ip', ['netns', 'exec', home.router, 'nft', 'flush', 'ruleset'])
    run('ip', ['netns', 'exec', home.router, 'nft', '-f', '-'], routerRules({ strict: home.strict, lan: `10.${home.index}.0.0/24`, extra: `iifname "wan" tcp dport ${port} dnat to ${home.ip}:${port}` }))
  }

  /** Bytes between the relay (public namespace) and `home`'s router so far: rx = from the home, tx = to it. */
  relayBytes (home: Home): LinkBytes {
    const out = JSON.parse(run('ip', ['netns', 'exec', this.pub, 'nft', '-j', 'list', 'counters'])) as { nftables: Array<{ counter?: { name: string, bytes: number } }> }
    const bytes = (name: string): number => out.nftables.find(x => x.counter?.name === name)?.counter?.bytes ?? 0
    return { rx: bytes(`from${home.index}`), tx: bytes(`to${home.index}`) }
  }

  /** Bytes `netns`'s eth0 received and sent (since it was plugged in: a move starts it at zero). */
  linkBytes (netns: string): LinkBytes {
    const [link] = JSON.parse(run('ip', ['-n', netns, '-s', '-j', 'link', 'show', 'eth0'])) as Array<{ stats64: { rx: { bytes: number }, tx: { bytes: number } } }>
    return { rx: link!.stats64.rx.bytes, tx: link!.stats64.tx.bytes }
  }

  /** Removes every namespace it made (and so every interface and rule in them); never throws. */
  cleanup (): void {
    for (const name of this.made.reverse()) {
      try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch {}
    }
    this.made.length = 0
  }
}
