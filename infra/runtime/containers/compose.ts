import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '../../paths.js';

const exec = promisify(execFile);

/** `docker compose` (the v2 plugin) when the engine has it, else Debian's `docker-compose` (1.29). */
export function composeCommand(): string[] {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return ['docker', 'compose'];
  } catch {
    return ['docker-compose'];
  }
}

/** A compose project of docker-compose.yml under its own name, so it never touches another one. */
export class ComposeProject {
  private readonly command = composeCommand();

  constructor(readonly name: string, readonly env: Record<string, string> = {}) {}

  /** Runs one compose command (e.g. `up -d`) in the repo root; rejects with its output when it fails. */
  async run(...args: string[]): Promise<string> {
    const [bin, ...pre] = this.command;
    try {
      const { stdout, stderr } = await exec(bin!, [...pre, '-p', this.name, ...args], {
        cwd: repoRoot, env: { ...process.env, ...this.env }, maxBuffer: 16 * 1024 * 1024,
      });
      return stdout + stderr;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`${this.command.join(' ')} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }

  /** Ids of the project's containers (running or not), optionally of one service. */
  async containers(service?: string): Promise<string[]> {
    const filters = ['--filter', `label=com.docker.compose.project=${this.name}`];
    if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
    const { stdout } = await exec('docker', ['ps', '-aq', ...filters]);
    return stdout.split('\n').filter(Boolean);
  }

  async runningContainers(service: string): Promise<string[]> {
    const { stdout } = await exec('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=${this.name}`,
      '--filter', `label=com.docker.compose.service=${service}`, '--filter', 'status=running']);
    return stdout.split('\n').filter(Boolean);
  }

  /** Runs a command in the first running container of `service` (docker exec); rejects with its output when it fails. */
  async exec(service: string, command: string[]): Promise<string> {
    const [container] = await this.runningContainers(service);
    if (!container) throw new Error(`${this.name}: no running container of service ${service}`);
    return this.execIn(container, command);
  }

  /** Runs a command in one container (docker exec); rejects with its output when it fails. */
  async execIn(container: string, command: string[]): Promise<string> {
    try {
      const { stdout } = await exec('docker', ['exec', container, ...command], { maxBuffer: 64 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`docker exec ${container} ${command.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
    }
  }

  /** SIGKILLs one container (docker kill), as a crash would: its restart policy does not bring it back. */
  async kill(container: string): Promise<void> {
    await exec('docker', ['kill', container]);
  }

  /** The container's hostname: what the lab's API replicas and workers name themselves after. */
  async hostname(container: string): Promise<string> {
    const { stdout } = await exec('docker', ['inspect', '-f', '{{.Config.Hostname}}', container]);
    return stdout.trim();
  }

  /** The container's address on the project's network. */
  async address(container: string): Promise<string> {
    const { stdout } = await exec('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', container]);
    return stdout.trim();
  }

  /** Networks and volumes compose created for the project. */
  async networksAndVolumes(): Promise<string[]> {
    const label = `label=com.docker.compose.project=${this.name}`;
    const [networks, volumes] = await Promise.all([
      exec('docker', ['network', 'ls', '-q', '--filter', label]),
      exec('docker', ['volume', 'ls', '-q', '--filter', label]),
    ]);
    return [...networks.stdout.split('\n'), ...volumes.stdout.split('\n')].filter(Boolean);
  }

  /** Where a named volume of the project lives on the host (readable by root). */
  async volumePath(volume: string): Promise<string> {
    const { stdout } = await exec('docker', ['volume', 'inspect', '-f', '{{.Mountpoint}}', `${this.name}_${volume}`]);
    return stdout.trim();
  }
}
