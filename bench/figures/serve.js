// `serve` POST /v1/keys/verify vs a *floor* node:http server that reads the body, JSON.parses
// it, SHA-256s the key and answers a fixed JSON body (SPEC §14: ≥ 90%); the floor's ratio to
// a bare fixed-answer node:http server is printed beside it. Same load generator and
// connections, measured in alternating short runs and compared pair by pair: this VM's
// throughput drifts by ±30% within a minute, which one long run per server would turn into
// a verdict of its own.
import { spawn } from 'node:child_process'

import { load, median, spawnServe } from '../lib.js'

export const name = 'serve'

const fixed = JSON.stringify({ valid: true, key: { id: 'key_0000000000000000', name: 'x', type: 'service', scopes: [], owner: null, expiresAt: null } })
const answer = `s.writeHead(200,{'content-type':'application/json; charset=utf-8','content-length':Buffer.byteLength(b)});s.end(b)`

/** A node:http server in its own process (like serve, all pay the same process boundary). */
export const nodeServer = (handler) =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', `const b=${JSON.stringify(fixed)};require('http').createServer(${handler}).listen(0,'127.0.0.1',function(){console.log(this.address().port)})`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout.once('data', (d) => resolve({ url: `http://127.0.0.1:${Number(String(d).trim())}/`, stop: () => child.kill() }))
  })

export const BARE = `(q,s)=>{q.resume();q.on('end',()=>{${answer}})}`
/** What any verify endpoint must do at the least: read the body, parse the JSON, hash the key. */
export const FLOOR = `(q,s)=>{const c=[];q.on('data',x=>c.push(x));q.on('end',()=>{const j=JSON.parse(Buffer.concat(c).toString());require('crypto').hash('sha256',j.key,'base64');${answer}})}`

export async function run(b) {
  b.say('serve vs the floor and bare node:http under autocannon (50 connections, alternating runs)…')
  const pairs = b.quick ? 4 : 16
  const bare = await nodeServer(BARE)
  const floor = await nodeServer(FLOOR)
  const serve = await spawnServe({}, b.bin)
  try {
    const body = JSON.stringify({ key: b.keys[0], ip: '192.0.2.7' })
    const verifyUrl = `${serve.url}/v1/keys/verify`
    for (const url of [bare.url, floor.url, verifyUrl]) await load(url, body, 1) // warm-up
    const rows = []
    for (let i = 0; i < pairs; i++) {
      const bareRun = await load(bare.url, body, 2)
      // The floor and serve take turns going first: what runs second finds the VM in another moment.
      const first = await load(i % 2 ? verifyUrl : floor.url, body, 2)
      const second = await load(i % 2 ? floor.url : verifyUrl, body, 2)
      const [f, v] = i % 2 ? [second, first] : [first, second]
      rows.push({ bare: bareRun.rps, floor: f.rps, serve: v.rps, p99: v.p99, errors: v.errors })
    }
    const ratio = median(rows.map((r) => r.serve / r.floor))
    const floorRatio = median(rows.map((r) => r.floor / r.bare))
    const errors = rows.reduce((n, r) => n + r.errors, 0)
    b.record(
      'serve POST /v1/keys/verify',
      `${Math.round(median(rows.map((r) => r.serve))).toLocaleString()}`,
      `req/s (median of ${pairs} runs, p99 ${median(rows.map((r) => r.p99))} ms, errors ${errors})`,
      `${Math.round(median(rows.map((r) => r.floor))).toLocaleString()} req/s (the floor is ${(floorRatio * 100).toFixed(0)}% of a bare fixed-answer server, ${Math.round(median(rows.map((r) => r.bare))).toLocaleString()} req/s)`,
      'floor node:http (read, parse, hash)',
      ratio >= 0.9 && errors === 0,
      `≥ 90% of the floor (got ${(ratio * 100).toFixed(0)}%, per pair ${rows.map((r) => ((r.serve / r.floor) * 100).toFixed(0)).join(' ')})`,
      { pairs: rows, floorRatio },
    )
  } finally {
    bare.stop()
    floor.stop()
    await serve.stop()
  }
}
