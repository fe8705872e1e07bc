import type { ExtensionRecord } from '../src/core/records.js';

export function benchRecord(i: number, products: number, resources: number, id?: string): ExtensionRecord;
export function goTime(t: string | undefined): string;
export function fusemlCoreForm(rec: ExtensionRecord): Record<string, unknown>;
export function extraFields(ours: unknown, theirs: unknown, allowed?: string[], at?: string): string[];
