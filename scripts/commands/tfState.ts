/** `tf-state`: encrypt and upload Terraform state or a Pulumi export. */
import { TfStateOptions, tfStateJob } from '../jobs/tfState';
import { keyOptions, str, defineCommand } from './common';

export const tfStateCommand = defineCommand<TfStateOptions>({
  name: 'tf-state',
  description:
    'encrypt (AES-256-GCM, client side) and upload Terraform state or a Pulumi export to terraform-state/',
  job: tfStateJob,
  define: (cmd) =>
    keyOptions(
      cmd
        .option('--file <state>', 'a terraform.tfstate or a `pulumi stack export` file')
        .option('--workspace <dir>', 'a Terraform working directory (all workspaces)')
        .option(
          '--name <name>',
          'name under terraform-state/ (default: <directory name>-<8 hex>, unique per workspace path in the repository)',
        )
        .option(
          '--rotate-key',
          'accept an encryption key id that differs from the previous version (default: refused, exit 2)',
          false,
        ),
    ),
  options: (raw) => ({
    file: str(raw, 'file'),
    workspace: str(raw, 'workspace'),
    name: str(raw, 'name'),
    keyFile: str(raw, 'keyFile'),
    keyEnv: raw.keyEnv as string,
    rotateKey: !!raw.rotateKey,
  }),
});
