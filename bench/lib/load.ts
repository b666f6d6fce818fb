import autocannon from 'autocannon';

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
}

/**
 * Drives `url` with autocannon in a worker thread, so the load generator does not share
 * the event loop of the in-process server it measures.
 */
export async function load(
  url: string,
  seconds: number,
  connections = 32,
  headers: Record<string, string> = {},
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    duration: seconds,
    connections,
    pipelining: 1,
    workers: 1,
    headers,
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}
