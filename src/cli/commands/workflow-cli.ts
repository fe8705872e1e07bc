/**
 * The `fuseml workflow …` command tree (commander only; the work is in
 * ./workflow.ts, loaded when a command runs).
 */
import { Command, Option } from 'commander';
import { lazyAction, type Opts } from '../lazy.js';

type Impl = typeof import('./workflow.js');
type BindImpl = typeof import('./workflow-bind.js');
type RenderImpl = typeof import('./workflow-render.js');

const act = <A extends unknown[]>(fn: (impl: Impl, opts: Opts, ...args: A) => Promise<void>) =>
  lazyAction(() => import('./workflow.js'), fn);

/** bind / unbind: their module pulls in the Kubernetes client, so it loads only for them. */
const actBind = <A extends unknown[]>(fn: (impl: BindImpl, opts: Opts, ...args: A) => Promise<void>) =>
  lazyAction(() => import('./workflow-bind.js'), fn);

/** render / run: their module loads the Kubernetes client only for `run`. */
const actRender = <A extends unknown[]>(fn: (impl: RenderImpl, opts: Opts, ...args: A) => Promise<void>) =>
  lazyAction(() => import('./workflow-render.js'), fn);

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const caller = (cmd: Command): Command =>
  cmd
    .requiredOption('--project <project>', 'the project the workflow runs for (selects project-scoped credentials)')
    .option('--user <user>', 'the user it runs for (selects user-scoped credentials)')
    .option('--zone <zone>', 'the zone it runs in (internal endpoints there are preferred)')
    .option('--step <step>', 'only this step');

export function workflowCommand(): Command {
  const wf = new Command('workflow').alias('workflows').description('validate workflows and resolve their extension requirements against the registry');

  wf.command('validate')
    .description('check a workflow file (schema, names, {{ }} references) without contacting the registry')
    .argument('<file>', 'workflow YAML file')
    .action(act((i, o, file: string) => i.validateWorkflow(o, file)));

  caller(
    wf
      .command('resolve')
      .description(
        'resolve each step requirement to a service endpoint and credentials, as the registry is now, and print the env per step. ' +
          'Credential values are shown only with --show-secrets (and -o env needs it when the env holds any).',
      )
      .argument('<file>', 'workflow YAML file'),
  )
    .option('--show-secrets', 'print credential values (the token must be allowed to see them); required by -o env when the env holds secrets')
    .addOption(new Option('-o, --output <format>', 'output format; env: KEY=\'value\' lines for eval').choices(['table', 'json', 'yaml', 'env']).default('table'))
    .action(act((i, o, file: string) => i.resolveWorkflowCommand(o, file)));

  caller(
    wf
      .command('bind')
      .description(
        'resolve the workflow and create, per step requirement, a Service Binding Secret (type servicebinding.io/<type>) in the namespace; ' +
          'Secrets of earlier bindings of the workflow that are no longer needed are removed',
      )
      .argument('<file>', 'workflow YAML file')
      .requiredOption('-n, --namespace <namespace>', 'namespace for the Secrets'),
  )
    .option('--dry-run', 'print the Secrets (values hidden) instead of creating them')
    .option('--kubeconfig <file>', 'kubeconfig file, used alone as by kubectl (default: the $KUBECONFIG list, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (as kubectl --context; default: the current-context)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .action(actBind((i, o, file: string) => i.bindWorkflow(o, file)));

  caller(
    wf
      .command('render')
      .description(
        'resolve the workflow and print the manifests that run its steps: --engine job (one Kubernetes Job per step, unordered), ' +
          'argo (an Argo Workflows Workflow, a DAG) or tekton (a Tekton Pipeline and PipelineRun). Extensions are delivered by reference: ' +
          'env from the Secrets `fuseml workflow bind` creates (same flags), mounted under $SERVICE_BINDING_ROOT/<requirement>; no value is inlined',
      )
      .argument('<file>', 'workflow YAML file'),
  )
    .addOption(new Option('--engine <engine>', 'workflow engine').choices(['job', 'argo', 'tekton']).makeOptionMandatory())
    .option('-n, --namespace <namespace>', 'metadata.namespace of the objects (default: none, kubectl\'s)')
    .option('--bind', 'also create the binding Secrets in --namespace first, as `fuseml workflow bind` does')
    .option('--kubeconfig <file>', 'kubeconfig file for --bind (default: $KUBECONFIG, ~/.kube/config)')
    .option('--input <name=value>', 'value of a workflow input (repeatable); default: the input\'s default', collect)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ fuseml workflow render wf.yaml --project team-a --engine argo -n team-a --bind | kubectl create -f -\n' +
        '  $ fuseml workflow render wf.yaml --project team-a --engine tekton --input codeset=my-project > pipeline.yaml\n' +
        '  $ fuseml workflow render wf.yaml --project team-a --engine job --step train --input codeset=my-project\n' +
        '\nJobs start all at once (steps run in order only with argo or tekton); see docs/workflows.md.\n',
    )
    .action(actRender((i, o, file: string) => i.renderWorkflowCommand(o, file)));

  caller(
    wf
      .command('run')
      .description(
        'resolve the workflow now and run it on Kubernetes: creates this run\'s Service Binding Secrets and one Job per step ' +
          '(server-side apply, labelled fuseml.io/workflow and fuseml.io/run). Each run re-resolves, so registry changes reach the next run',
      )
      .argument('<file>', 'workflow YAML file')
      .requiredOption('-n, --namespace <namespace>', 'namespace for the Secrets and Jobs'),
  )
    .addOption(new Option('--engine <engine>', 'workflow engine (run supports job; render argo/tekton instead)').choices(['job', 'argo', 'tekton']).default('job'))
    .option('--input <name=value>', 'value of a workflow input (repeatable); default: the input\'s default', collect)
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  $ fuseml workflow run wf.yaml --project team-a -n team-a --input codeset=my-project\n' +
        '  $ kubectl get pods -n team-a -l fuseml.io/run=<run id>\n' +
        '  $ kubectl delete jobs -n team-a -l fuseml.io/workflow=<workflow>   # fuseml does not delete Jobs\n',
    )
    .action(actRender((i, o, file: string) => i.runWorkflowCommand(o, file)));

  wf.command('unbind')
    .description('delete the Service Binding Secrets created by `workflow bind` for a workflow (a file or a workflow name)')
    .argument('<workflow>', 'workflow YAML file, or the workflow name')
    .requiredOption('-n, --namespace <namespace>', 'namespace of the Secrets')
    .option('--step <step>', 'only those of this step')
    .option('--kubeconfig <file>', 'kubeconfig file, used alone as by kubectl (default: the $KUBECONFIG list, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (as kubectl --context; default: the current-context)')
    .action(actBind((i, o, workflow: string) => i.unbindWorkflow(o, workflow)));

  return wf;
}
