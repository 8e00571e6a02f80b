/**
 * The report of `berth system check` (GET /system/check): what a daemon killed mid-operation
 * must never leave behind. The daemon, which sees below every service, makes it.
 */

/** One thing out of place. */
export interface SystemCheckProblem {
  kind: 'record' | 'debris' | 'mount' | 'conmon' | 'cgroup' | 'frozen' | 'network' | 'image';
  /** The container or image id concerned. */
  subject: string;
  /** One line for a person. */
  detail: string;
}

export interface SystemCheckReport {
  containersChecked: number;
  imagesChecked: number;
  /** Empty when the store is clean. */
  problems: SystemCheckProblem[];
}

/** Makes the report; provided by the daemon. */
export type SystemChecker = () => Promise<SystemCheckReport>;
