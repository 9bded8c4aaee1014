/**
 * The local emulator's ready line: the one JSON object `b2-local` prints on stdout once every
 * region listens (docs/architecture.md "Local emulator"). It is the contract between the emulator
 * (which writes it, emulator/server.ts) and whatever starts it (`npm start`'s
 * scripts/start/localEmulator.ts, the tests' test/helpers/emulator.ts), so it is written once here.
 */

/** One region: its base URL and the master key of the account the emulator created. */
export interface RegionReady {
  region: string;
  url: string;
  accountId: string;
  keyId: string;
  applicationKey: string;
}

/** The first region's fields at the top level, every region in `regions`. */
export interface ReadyLine extends RegionReady {
  ready: true;
  /** Bearer token for the `/__admin/*` API (clock, faults, stats, reset). */
  adminToken: string;
  regions: RegionReady[];
}
