ALTER TABLE "hosts" ADD COLUMN "max_cpus" real;--> statement-breakpoint
ALTER TABLE "hosts" ADD COLUMN "max_memory_mib" integer;
