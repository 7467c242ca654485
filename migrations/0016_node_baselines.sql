-- Who deleted a cluster (the delete's actor; `clusterbot` when it expired): its card says when and by whom.
-- (The tag was reserved for the monitor's node baselines, which live in monitor_memory's JSON and need no column.)
ALTER TABLE "clusters" ADD COLUMN "deleted_by" text;
