/** The step runners by type. */
import type { PlannedStep } from './planned.js';
import { helmRunner } from './helm.js';
import { kustomizeRunner, manifestRunner } from './kubectl.js';
import { scriptRunner } from './script.js';
import type { StepContext, StepResult, StepRunner, Tools } from './types.js';

export type { StepContext, StepResult, StepRunner, Tools };

const runners = {
  helm: helmRunner,
  manifest: manifestRunner,
  kustomize: kustomizeRunner,
  script: scriptRunner,
} as const;

export function runnerFor<S extends PlannedStep>(step: S): StepRunner<S> {
  return runners[step.type] as unknown as StepRunner<S>;
}

export function stepCommands(step: PlannedStep, tools: Tools): string[][] {
  return runnerFor(step).commands(step, tools);
}

export function runStep(step: PlannedStep, ctx: StepContext): Promise<StepResult> {
  return runnerFor(step).run(step, ctx);
}
