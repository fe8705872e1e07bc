export function manyKeysYaml(n?: number): string;
export function aliasBombYaml(bytes?: number, aliases?: number): string;
export function deepFlowYaml(depth?: number): string;
export function deepBlockYaml(depth?: number): string;
export function deepJson(depth?: number): string;
export function resolveBody(steps: number, perStep: number, project?: string): string;
export interface SentResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
export function send(url: string, options?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<SentResponse>;
export function whilePolling<T>(baseUrl: string, work: () => Promise<T>): Promise<{ result: T; ok: number; failed: number; maxBlockedMs: number; samples: number[] }>;
