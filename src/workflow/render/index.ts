/** The renderers by engine (see ./plan.ts for what they share). */
import { renderArgo } from './argo.js';
import { renderJobs, type Rendered, type RenderContext } from './job.js';
import type { Engine } from './plan.js';
import { renderTekton } from './tekton.js';

export { ENGINES, LABEL_RUN, SERVICE_BINDING_ROOT, type Engine } from './plan.js';
export type { Rendered, RenderContext } from './job.js';

export function renderWorkflow(engine: Engine, ctx: RenderContext): Rendered {
  switch (engine) {
    case 'job':
      return renderJobs(ctx);
    case 'argo':
      return renderArgo(ctx);
    case 'tekton':
      return renderTekton(ctx);
  }
}
