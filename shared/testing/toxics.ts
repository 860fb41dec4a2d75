import { Toxiproxy } from 'toxiproxy-node-client';

/** Removes every toxic of the named proxy: a test starts from a clean link, whatever ran before it. */
export async function removeToxics(toxiproxyUrl: string, proxyName: string): Promise<void> {
  const proxy = await new Toxiproxy(toxiproxyUrl).get(proxyName);
  const { data: toxics } = await proxy.api.get<{ name: string }[]>(`${proxy.getPath()}/toxics`);
  for (const toxic of toxics ?? []) await (await proxy.getToxic(toxic.name)).remove();
}
