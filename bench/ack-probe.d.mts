/** Types of bench/ack-probe.mjs (plain JavaScript, so it can be preloaded into built JS too). */
export interface ProbeRequest {
  url: string;
  accepted: number;
  headers: number;
  body?: number;
  acked?: number;
}
export function probeData(): {
  requests: ProbeRequest[];
  stalls: { at: number; ms: number }[];
  gcs: { at: number; ms: number; kind?: number }[];
};
