/**
 * The `/networks` shapes: `Network` (inspect and list), the create, connect and disconnect
 * bodies, and their answers, as moby's swagger.yaml defines them.
 */
import { z } from 'zod';

/** One `IPAM.Config` entry. */
export interface IpamConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** A container on a network, in `Network.Containers`. */
export interface NetworkContainer {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  /** CIDR form: `172.18.0.2/16`. */
  IPv4Address: string;
  IPv6Address: string;
}

/** `Network`: `GET /networks/{id}` and the rows of `GET /networks`. */
export interface Network {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Record<string, string> | null; Config: IpamConfig[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, NetworkContainer>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

const str = z.string().nullish();
const bool = z.boolean().nullish();
const strList = z.array(z.string()).nullish();
const strMap = z.record(z.string(), z.string()).nullish();

/** Body of `POST /networks/create`. */
export const networkCreateSchema = z.looseObject({
  Name: z.string(),
  CheckDuplicate: bool,
  Driver: str,
  Scope: str,
  Internal: bool,
  Attachable: bool,
  Ingress: bool,
  ConfigOnly: bool,
  EnableIPv4: bool,
  EnableIPv6: bool,
  IPAM: z
    .looseObject({
      Driver: str,
      Config: z.array(z.looseObject({ Subnet: str, IPRange: str, Gateway: str, AuxiliaryAddresses: strMap })).nullish(),
      Options: strMap,
    })
    .nullish(),
  Options: strMap,
  Labels: strMap,
});

/** Answer of `POST /networks/create` (201). */
export interface NetworkCreateResponse {
  Id: string;
  Warning: string;
}

/** Body of `POST /networks/{id}/connect`. */
export const networkConnectSchema = z.looseObject({
  Container: z.string(),
  EndpointConfig: z
    .looseObject({
      IPAMConfig: z.looseObject({ IPv4Address: str, IPv6Address: str }).nullish(),
      Aliases: strList,
      MacAddress: str,
      Links: strList,
    })
    .nullish(),
});

/** Body of `POST /networks/{id}/disconnect`. */
export const networkDisconnectSchema = z.looseObject({ Container: z.string(), Force: bool });

/** Answer of `POST /networks/prune`. */
export interface NetworkPruneResponse {
  NetworksDeleted: string[] | null;
}
