import { execFileSync } from 'node:child_process'

/**
 * A small internet inside network namespaces this test creates (names carry the pid; `cleanup()`
 * removes them all, and with them every interface, route and NAT rule; nothing leaves the machine):
 *
 *   public  (bridge br0, PUBLIC_NET.0/24; the relay runs here at RELAY_IP)
 *     ├── router 1: wan PUBLIC_NET.11, NAT (nft masquerade) ── lan 10.1.0.1 ── home 1: device 10.1.0.2
 *     └── router 2: wan PUBLIC_NET.12, NAT (nft masquerade) ── lan 10.2.0.1 ── home 2: device 10.2.0.2
 *
 * The "public" addresses must be ones libp2p does not count as private (`isPrivate()` of
 * @libp2p/utils lists 10/8, 100.64/10, 172.16/12, 192.168/16, the TEST-NETs, 198.18/15 ...): dcutr,
 * identify and AutoNAT ignore private addresses. 11.0.0.0/8 is not on that list; it exists here
 * only inside these namespaces.
 *
 * Each router forwards what its LAN sends out and, inbound, only replies to that (conntrack:
 * `ct state established,related`), as a home router does. `portForward()` adds a static
 * port forward (what UPnP would ask the router for).
 */
export const PUBLIC_NET = '11.77.0'
export const RELAY_IP = `${PUBLIC_NET}.1`

export interface Home {
  index: number
  /** the namespace the device runs in */
  netns: string
  router: string
  /** the device's private address */
  ip: string
  /** the router's public address: the device's address as the internet sees it */
  publicIp: string
}

/** Why the NAT lab cannot run here, or undefined when it can (root, `ip`, `nft`, namespaces). */
export function natLabUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces'
  for (const [tool, args] of [['ip', ['-V']], ['nft', ['--version']]] as const) {
    try { execFileSync(tool, args, { stdio: 'ignore' }) } catch { return `needs \`${tool}\` (${tool === 'nft' ? 'nftables' : 'iproute2'})` }
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

function run (cmd: string, args: string[], input?: string): void {
  try {
    execFileSync(cmd, args, { stdio: ['pipe', 'ignore', 'pipe'], input })
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? ''
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || (err as Error).message}`)
  }
}

/** a home router: masquerade out of wan, inbound only replies (plus `extra` rules, e.g. a forward) */
function routerRules (extra = ''): string {
  return `
table ip nat {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ${extra}
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    oifname "wan" masquerade
  }
}
table ip filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
    ct status dnat accept
  }
}
`
}

export class NatLab {
  readonly tag = `${process.pid}`
  readonly pub = `ferry-pub-${this.tag}`
  readonly homes: Home[] = []
  private readonly made: string[] = []

  /** Creates the public net and `homes` routers, each with one device namespace behind its NAT. */
  async setup (homes = 2): Promise<void> {
    try {
      this.netns(this.pub)
      run('ip', ['-n', this.pub, 'link', 'add', 'br0', 'type', 'bridge'])
      run('ip', ['-n', this.pub, 'addr', 'add', `${RELAY_IP}/24`, 'dev', 'br0'])
      run('ip', ['-n', this.pub, 'link', 'set', 'br0', 'up'])
      for (let i = 1; i <= homes; i++) this.addHome(i)
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

  private addHome (i: number): void {
    const router = `ferry-rt${i}-${this.tag}`
    const netns = `ferry-home${i}-${this.tag}`
    const publicIp = `${PUBLIC_NET}.${10 + i}`
    this.netns(router)
    this.netns(netns)
    run('ip', ['link', 'add', 'wan', 'netns', router, 'type', 'veth', 'peer', 'name', `rt${i}`, 'netns', this.pub])
    run('ip', ['-n', this.pub, 'link', 'set', `rt${i}`, 'master', 'br0', 'up'])
    run('ip', ['-n', router, 'addr', 'add', `${publicIp}/24`, 'dev', 'wan'])
    run('ip', ['-n', router, 'link', 'set', 'wan', 'up'])
    run('ip', ['link', 'add', 'lan', 'netns', router, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns])
    run('ip', ['-n', router, 'addr', 'add', `10.${i}.0.1/24`, 'dev', 'lan'])
    run('ip', ['-n', router, 'link', 'set', 'lan', 'up'])
    run('ip', ['-n', netns, 'addr', 'add', `10.${i}.0.2/24`, 'dev', 'eth0'])
    run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up'])
    run('ip', ['-n', netns, 'route', 'add', 'default', 'via', `10.${i}.0.1`])
    run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    run('ip', ['netns', 'exec', router, 'nft', '-f', '-'], routerRules())
    this.homes.push({ index: i, netns, router, ip: `10.${i}.0.2`, publicIp })
  }

  /** A static port forward on `home`'s router: PUBLIC:port -> device:port (TCP). */
  portForward (home: Home, port: number): void {
    run('ip', ['netns', 'exec', home.router, 'nft', 'flush', 'ruleset'])
    run('ip', ['netns', 'exec', home.router, 'nft', '-f', '-'], routerRules(`iifname "wan" tcp dport ${port} dnat to ${home.ip}:${port}`))
  }

  /** Removes every namespace it made (and so every interface and rule in them); never throws. */
  cleanup (): void {
    for (const name of this.made.reverse()) {
      try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }) } catch {}
    }
    this.made.length = 0
  }
}
