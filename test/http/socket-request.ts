import { request } from 'node:http'

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface SocketRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  /** Written one by one (chunked when no content-length is given). */
  chunks?: (string | Buffer)[]
}

/** One request to 127.0.0.1:`port` over a real socket, as `serve`'s clients send it. */
export function sendOverSocket(port: number, options: SocketRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: options.method ?? 'POST', path: options.path ?? '/v1/keys/verify', headers: options.headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
    })
    req.on('error', reject)
    for (const c of options.chunks ?? []) req.write(c)
    req.end()
  })
}
