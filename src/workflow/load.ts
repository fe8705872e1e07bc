/**
 * Loading a workflow: YAML with source positions (src/descriptor/yaml.ts), the
 * JSON Schema (schemas/workflow.schema.json, via src/descriptor/schema.ts), then
 * the registry-independent checks of the resolver (unique names, well-formed
 * `{{ … }}` references). Every problem is reported at once as
 * `file:line:col pointer message`.
 */
import { ValidationError, type Issue } from '../core/errors.js';
import { checkWorkflow, type Locate } from '../core/resolve.js';
import type { Workflow } from '../core/workflow.js';
import { schemaIssues } from '../descriptor/schema.js';
import { parseYaml, readYamlFile, type YamlFile } from '../descriptor/yaml.js';

export interface LoadedWorkflow {
  file: string;
  workflow: Workflow;
  /** Source position of a JSON pointer, for issues found later (e.g. by the resolver). */
  locate: Locate;
}

function check(doc: YamlFile): LoadedWorkflow {
  const issues: Issue[] = schemaIssues('workflow', doc);
  if (issues.length === 0) {
    for (const p of checkWorkflow(doc.data as Workflow)) issues.push(doc.issue(p.pointer, p.message));
  }
  if (issues.length > 0) throw new ValidationError(issues, `${doc.file}: invalid workflow (${issues.length} problem${issues.length === 1 ? '' : 's'})`);
  return { file: doc.file, workflow: doc.data as Workflow, locate: (pointer) => doc.locate(pointer) };
}

/** Parses and validates workflow YAML text; `file` names it in issues. */
export function parseWorkflow(text: string, file: string): LoadedWorkflow {
  return check(parseYaml(text, file));
}

/** Reads, parses and validates a workflow file. */
export async function loadWorkflowFile(file: string): Promise<LoadedWorkflow> {
  return check(await readYamlFile(file, undefined, 'workflow file'));
}

/**
 * Validates a workflow that arrived as data (e.g. a JSON request body); issues
 * have pointers but no positions. Returns [] when valid.
 */
export function workflowDataIssues(data: unknown, source = 'workflow'): Issue[] {
  const doc: YamlFile = {
    file: source,
    data,
    locate: () => undefined,
    issue: (pointer, message) => ({ file: source, pointer, message }),
  };
  const issues = schemaIssues('workflow', doc);
  if (issues.length > 0) return issues;
  return checkWorkflow(data as Workflow).map((p) => ({ file: source, pointer: p.pointer, message: p.message }));
}
