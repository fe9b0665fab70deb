// Stand-ins for the two Moshi annotations the generated Kotlin models use, so that
// .ci/contract can compile the models with kotlinc alone (Maven is out of reach there).
// Same names, targets and parameters as com.squareup.moshi's; they do nothing.
package com.squareup.moshi

@Retention(AnnotationRetention.RUNTIME)
@Target(AnnotationTarget.FIELD, AnnotationTarget.PROPERTY, AnnotationTarget.VALUE_PARAMETER, AnnotationTarget.CLASS)
annotation class Json(val name: String = "", val ignore: Boolean = false)

@Retention(AnnotationRetention.RUNTIME)
@Target(AnnotationTarget.CLASS)
annotation class JsonClass(val generateAdapter: Boolean, val generator: String = "")
