package com.cloudbees.groovy.cps

import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy

/** Look-alike of Jenkins' @NonCPS: marks a method that runs as plain Groovy. */
@Retention(RetentionPolicy.RUNTIME)
@interface NonCPS {
}
