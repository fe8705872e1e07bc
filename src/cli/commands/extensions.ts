// In progress (issue 2): descriptor loading lands next.
import { FusemlError } from '../../core/errors.js';

type Globals = Record<string, unknown>;
const pending = (): never => {
  throw new FusemlError('INTERNAL', 'not implemented yet');
};
export async function listExtensions(_g: Globals, _o: string): Promise<void> { pending(); }
export async function describeExtension(_g: Globals, _n: string, _o: string): Promise<void> { pending(); }
export async function validateExtensions(_g: Globals, _p: string[]): Promise<void> { pending(); }
