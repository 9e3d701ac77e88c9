/**
 * OpenAPI validation with two independent real validators: @seriousme/openapi-schema-validator (the
 * official OpenAPI 3.1 JSON Schemas) and @readme/openapi-parser (those schemas plus the rules they cannot
 * express: path parameters declared and used, duplicate operationIds, component names…).
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { validate } from '@readme/openapi-parser';

/** Every problem either validator finds; [] for a valid document. */
export async function openApiProblems(doc: Record<string, unknown>): Promise<string[]> {
  const problems: string[] = [];
  const schemaResult = await new Validator().validate(structuredClone(doc) as never);
  if (!schemaResult.valid) problems.push(`openapi-schema-validator: ${JSON.stringify(schemaResult.errors).slice(0, 4000)}`);
  const parsed = await validate(structuredClone(doc) as never);
  if (!parsed.valid) problems.push(`openapi-parser: ${JSON.stringify(parsed.errors).slice(0, 4000)}`);
  if (parsed.warnings.length > 0) problems.push(`openapi-parser warnings: ${JSON.stringify(parsed.warnings).slice(0, 2000)}`);
  return problems;
}
